// The risk dashboard: polls GET /v1/stats every two seconds (the store's numbers, every
// instance's traffic) and draws them with Chart.js.
/* global Chart */
const $ = (id) => document.getElementById(id)
const COLORS = { allow: '#34a853', review: '#fbbc04', deny: '#ea4335' }
const PALETTE = ['#8ab4f8', '#f28b82', '#fdd663', '#81c995', '#c58af9', '#ff8bcb', '#78d9ec', '#fcad70', '#aecbfa', '#e6c9a8']
const POLL_MS = 2000

Chart.defaults.color = '#9aa0a6'
Chart.defaults.borderColor = '#2a2f3a'
Chart.defaults.animation = false

const time = (t) => new Date(t).toTimeString().slice(0, 5)
const sum = (counts, prefix) => Object.entries(counts).filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0)

const charts = {
  verdicts: new Chart($('c-verdicts'), {
    type: 'bar',
    data: { labels: [], datasets: ['allow', 'review', 'deny'].map((v) => ({ label: v, data: [], backgroundColor: COLORS[v], stack: 'v' })) },
    options: { responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  }),
  reasons: new Chart($('c-reasons'), {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'tokens with this reason', data: [], backgroundColor: PALETTE }] },
    options: { indexAxis: 'y', responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  }),
  scores: new Chart($('c-scores'), {
    type: 'bar',
    data: {
      labels: Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`),
      datasets: [
        { label: 'behaviour P(bot)', data: [], backgroundColor: '#c58af9' },
        { label: 'verdict risk', data: [], backgroundColor: '#8ab4f8' },
      ],
    },
    options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  }),
  failures: new Chart($('c-failures'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: { responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  }),
}
window.__charts = charts

function render(snapshot) {
  const buckets = snapshot.buckets
  const labels = buckets.map((b) => time(b.t))
  const totals = {}
  for (const b of buckets) for (const [k, v] of Object.entries(b.counts)) totals[k] = (totals[k] ?? 0) + v

  const all = sum(totals, 'verdict:')
  $('t-total').textContent = all
  for (const v of ['allow', 'review', 'deny']) $(`t-${v}`).textContent = all ? `${Math.round((100 * (totals[`verdict:${v}`] ?? 0)) / all)}%` : '–'
  $('t-fail').textContent = sum(totals, 'fail:')

  charts.verdicts.data.labels = labels
  charts.verdicts.data.datasets.forEach((ds) => (ds.data = buckets.map((b) => b.counts[`verdict:${ds.label}`] ?? 0)))

  const reasons = Object.entries(totals).filter(([k]) => k.startsWith('reason:')).sort((a, b) => b[1] - a[1])
  charts.reasons.data.labels = reasons.map(([k]) => k.slice('reason:'.length))
  charts.reasons.data.datasets[0].data = reasons.map(([, v]) => v)

  charts.scores.data.datasets[0].data = Array.from({ length: 10 }, (_, i) => totals[`bhv:${i}`] ?? 0)
  charts.scores.data.datasets[1].data = Array.from({ length: 10 }, (_, i) => totals[`risk:${i}`] ?? 0)

  const codes = [...new Set(Object.keys(totals).filter((k) => k.startsWith('fail:')).map((k) => k.slice(5)))].sort()
  charts.failures.data.labels = labels
  charts.failures.data.datasets = codes.map((code, i) => ({
    label: code,
    data: buckets.map((b) => b.counts[`fail:${code}`] ?? 0),
    backgroundColor: PALETTE[(i + 1) % PALETTE.length],
    stack: 'f',
  }))

  for (const chart of Object.values(charts)) chart.update()

  const rows = snapshot.topDevices.map((d) => {
    const tr = document.createElement('tr')
    tr.append(Object.assign(document.createElement('td'), { textContent: d.deviceId }), Object.assign(document.createElement('td'), { textContent: d.accounts }))
    return tr
  })
  $('devices').replaceChildren(...(rows.length ? rows : [Object.assign(document.createElement('tr'), { innerHTML: '<td colspan="2" class="muted">none yet</td>' })]))
}

/** A refusal that asking again will not change (a wrong key, an unknown site): wait for the form. */
class Refused extends Error {}

/** Worth asking again: a timeout, a rate limit, the collector or a proxy failing. */
const transient = (status) => status === 408 || status === 429 || status >= 500

let timer
async function poll() {
  clearTimeout(timer)
  const siteKey = $('siteKey').value
  const secret = $('secret').value
  if (!siteKey || !secret) return
  const minutes = $('minutes').value
  try {
    const res = await fetch(`/v1/stats?siteKey=${encodeURIComponent(siteKey)}&minutes=${minutes}`, { headers: { authorization: `Bearer ${secret}` }, cache: 'no-store' })
    // A proxy's refusal may not be JSON: its status still decides.
    const body = await res.json().catch(() => null)
    if (!res.ok || body === null) {
      const message = body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`
      throw res.ok || transient(res.status) ? new Error(message) : new Refused(message)
    }
    render(body)
    window.__lastUpdate = Date.now()
    $('status').className = 'status live'
    $('status').textContent = `live · updated ${new Date().toLocaleTimeString()}`
  } catch (err) {
    $('status').className = 'status error'
    $('status').textContent = String(err.message ?? err)
    if (err instanceof Refused) return
  }
  timer = setTimeout(poll, POLL_MS)
}

// A link may carry the site and key in its fragment (#siteKey=demo&key=demo-secret: the demo's
// own link), which never reaches a server; it is taken off the address bar at once. The
// dashboard key (read-only) then stays in this tab only.
const save = () => {
  for (const id of ['siteKey', 'secret', 'minutes']) sessionStorage.setItem(`vigil.dashboard.${id}`, $(id).value)
}
/** Fills the form from the address's fragment, if it carries both; true when it did. */
function fromLink() {
  const linked = new URLSearchParams(location.hash.slice(1))
  if (linked.has('siteKey') || linked.has('key')) history.replaceState(null, '', location.pathname + location.search)
  if (!linked.get('siteKey') || !linked.get('key')) return false
  $('siteKey').value = linked.get('siteKey')
  $('secret').value = linked.get('key')
  save() // a reload keeps them, as it keeps typed ones
  return true
}
if (!fromLink()) {
  for (const id of ['siteKey', 'secret', 'minutes']) {
    const value = sessionStorage.getItem(`vigil.dashboard.${id}`)
    if (value) $(id).value = value
  }
}
// The same link followed in a tab that already shows the dashboard: no new page loads.
window.addEventListener('hashchange', () => fromLink() && void poll())
$('site').addEventListener('submit', (event) => {
  event.preventDefault()
  save()
  void poll()
})
$('minutes').addEventListener('change', () => void poll())
if ($('siteKey').value && $('secret').value) {
  $('status').textContent = 'connecting…'
  void poll()
}
