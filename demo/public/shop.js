// The demo shop's page script. The only Vigil-specific lines are init() and getToken():
// every action asks for a token for that action (and the signed-in account), sends it
// with the request, and the shop's backend verifies it before acting.
const vigil = window.Vigil.init({ endpoint: location.origin, siteKey: 'demo' })

const $ = (id) => document.getElementById(id)
const money = (cents) => `$${(cents / 100).toFixed(2)}`
const COUPON_CENTS = 500
const cart = []
let products = []
// The signed-in account, as the shop's backend knows it from its session cookie (the page
// never tells the backend who it is). Vigil gets it as a salted hash (getToken's `account`).
let account = null
let coupon = sessionStorage.getItem('demo.coupon') ?? null

/** Asks Vigil for a token for `action`, posts it with `body` to the shop's route, returns the answer. */
async function protectedPost(action, path, body) {
  const token = await vigil.getToken(action, account ? { account } : undefined)
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, ...body }) })
  const answer = await res.json()
  log(action, answer)
  return answer
}

function log(action, answer) {
  const v = answer.verification ?? {}
  const tr = document.createElement('tr')
  tr.className = answer.outcome ?? 'blocked'
  for (const text of [action, answer.outcome ?? answer.error, v.verdict ?? '–', v.score === undefined ? '–' : v.score.toFixed(2), (v.reasons ?? []).join(', ') || '–']) {
    tr.append(Object.assign(document.createElement('td'), { textContent: text }))
  }
  $('dev-log').prepend(tr)
  // How many answers the panel has shown: lets a test (or a curious developer) wait for the next one.
  $('dev-log').dataset.count = String(Number($('dev-log').dataset.count ?? 0) + 1)
  while ($('dev-log').children.length > 8) $('dev-log').lastChild.remove()
  $('dev-output').textContent = JSON.stringify(answer, null, 2)
}

function show(kind, text) {
  const outcome = $('outcome')
  outcome.className = `outcome ${kind}`
  outcome.textContent = text
}

function failed(what, err) {
  // getToken rejects with a VigilError (err.code) when the collector cannot be reached.
  show('blocked', `Could not ${what}: ${err.code ?? err.message}`)
  log(what, { error: err.code ?? 'network', message: err.message })
}

function renderAccount() {
  $('signin').hidden = Boolean(account)
  $('signed-in').hidden = !account
  $('account').textContent = account ? `Signed in as ${account}` : ''
  $('coupon').disabled = Boolean(coupon)
  $('coupon-code').textContent = coupon ? `${coupon} applied` : ''
}

function renderProducts() {
  $('products').replaceChildren(
    ...products.map((p) => {
      const li = document.createElement('li')
      li.className = 'card'
      li.innerHTML = `<div class="art" aria-hidden="true"></div><div class="name"></div><div class="price">${money(p.price)}</div>`
      const art = li.querySelector('.art')
      art.style.setProperty('--hue', p.hue)
      art.textContent = p.name.charAt(0)
      li.querySelector('.name').textContent = p.name
      const add = document.createElement('button')
      add.type = 'button'
      add.textContent = 'Add to cart'
      add.dataset.sku = p.id
      add.addEventListener('click', () => addToCart(p, add))
      li.append(add)
      return li
    }),
  )
}

async function addToCart(product, button) {
  button.disabled = true
  try {
    // Low risk: the shop records the verdict and adds the item whatever it is.
    await protectedPost('cart/add', '/demo/api/cart', { sku: product.id })
  } catch (err) {
    log('cart/add', { error: err.code ?? 'network', message: err.message })
  } finally {
    cart.push(product.id)
    renderCart()
    button.disabled = false
  }
}

function renderCart() {
  const items = cart.map((id) => products.find((p) => p.id === id))
  $('cart-items').replaceChildren(
    ...(items.length
      ? items.map((p) => Object.assign(document.createElement('li'), { textContent: `${p.name} — ${money(p.price)}` }))
      : [Object.assign(document.createElement('li'), { className: 'muted', textContent: 'Your cart is empty.' })]),
  )
  const subtotal = items.reduce((s, p) => s + p.price, 0)
  $('cart-total').textContent = money(Math.max(0, subtotal - (coupon && items.length ? COUPON_CENTS : 0)))
  $('checkout').disabled = items.length === 0
}

$('checkout').addEventListener('click', async () => {
  const button = $('checkout')
  button.disabled = true
  show('pending', 'Placing your order…')
  try {
    const body = await protectedPost('checkout', '/demo/api/checkout', { items: cart })
    if (body.outcome === 'allowed') {
      show('allowed', `Order ${body.order.id} placed: ${money(body.order.total)}.`)
      cart.length = 0
      if (body.order.coupon) {
        coupon = null
        sessionStorage.removeItem('demo.coupon')
      }
      renderAccount()
      renderCart()
    } else if (body.outcome === 'step-up') show('step-up', 'We need to verify it is you before this order goes through.')
    else if (body.outcome === 'blocked') show('blocked', 'This order was blocked.')
    else show('blocked', `The shop refused the token (${body.error}).`)
  } catch (err) {
    failed('check out', err)
  } finally {
    button.disabled = cart.length === 0
  }
})

$('coupon').addEventListener('click', async () => {
  if (!account) {
    show('step-up', 'Sign in to claim the welcome coupon.')
    $('email').focus()
    return
  }
  $('coupon').disabled = true
  try {
    const body = await protectedPost('coupon/claim', '/demo/api/coupon', {})
    if (body.outcome === 'allowed') {
      coupon = body.coupon
      sessionStorage.setItem('demo.coupon', coupon)
      show('allowed', `Coupon ${coupon} added: $5 off your order.`)
    } else if (body.outcome === 'already_claimed') show('blocked', 'This account already claimed its coupon.')
    else if (body.outcome === 'step-up') show('step-up', 'We need to verify it is you before giving out this coupon.')
    else show('blocked', body.outcome === 'blocked' ? 'No coupon: this claim was blocked.' : `The shop refused the token (${body.error}).`)
  } catch (err) {
    failed('claim the coupon', err)
  } finally {
    renderAccount()
    renderCart()
  }
})

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault()
  // The password goes nowhere in this demo (a real shop sends it to its own backend only);
  // Vigil never reads field values, only the timing of key presses.
  const email = $('email').value.trim().toLowerCase()
  try {
    const token = await vigil.getToken('login', { account: email })
    const res = await fetch('/demo/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, email }) })
    const body = await res.json()
    log('login', body)
    if (body.outcome === 'allowed') {
      account = body.account
      coupon = null
      sessionStorage.removeItem('demo.coupon')
      $('password').value = ''
      show('allowed', `Welcome, ${account}.`)
    } else if (body.outcome === 'step-up') show('step-up', 'Check your e-mail for a sign-in code.')
    else show('blocked', body.outcome === 'blocked' ? 'Sign-in blocked.' : `The shop refused the token (${body.error}).`)
  } catch (err) {
    failed('sign in', err)
  }
  renderAccount()
})

$('signout').addEventListener('click', () => {
  void fetch('/demo/api/logout', { method: 'POST' })
  account = null
  coupon = null
  sessionStorage.removeItem('demo.coupon')
  renderAccount()
  renderCart()
})

fetch('/demo/api/session')
  .then((r) => r.json())
  .then((body) => {
    account = body.account
    renderAccount()
  })
renderAccount()
fetch('/demo/api/products')
  .then((r) => r.json())
  .then((body) => {
    products = body.products
    renderProducts()
    renderCart()
  })
