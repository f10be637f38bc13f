// The demo shop's page script. The only Vigil-specific lines are init() and getToken().
const vigil = window.Vigil.init({ endpoint: location.origin, siteKey: 'demo' })

const $ = (id) => document.getElementById(id)
const money = (cents) => `$${(cents / 100).toFixed(2)}`
const cart = []
let products = []

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
      add.addEventListener('click', () => {
        cart.push(p.id)
        renderCart()
      })
      li.append(add)
      return li
    }),
  )
}

function renderCart() {
  const items = cart.map((id) => products.find((p) => p.id === id))
  $('cart-items').replaceChildren(
    ...(items.length
      ? items.map((p) => Object.assign(document.createElement('li'), { textContent: `${p.name} — ${money(p.price)}` }))
      : [Object.assign(document.createElement('li'), { className: 'muted', textContent: 'Your cart is empty.' })]),
  )
  $('cart-total').textContent = money(items.reduce((s, p) => s + p.price, 0))
  $('checkout').disabled = items.length === 0
}

function show(kind, text, detail) {
  const outcome = $('outcome')
  outcome.className = `outcome ${kind}`
  outcome.textContent = text
  $('dev-output').textContent = JSON.stringify(detail, null, 2)
}

$('checkout').addEventListener('click', async () => {
  const button = $('checkout')
  button.disabled = true
  show('pending', 'Placing your order…', {})
  try {
    const token = await vigil.getToken('checkout')
    const res = await fetch('/demo/api/checkout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, items: cart }),
    })
    const body = await res.json()
    if (body.outcome === 'allowed') {
      show('allowed', `Order ${body.order.id} placed: ${money(body.order.total)}.`, body)
      cart.length = 0
      renderCart()
    } else if (body.outcome === 'step-up') {
      show('step-up', 'We need to verify it is you before this order goes through.', body)
    } else if (body.outcome === 'blocked') {
      show('blocked', 'This order was blocked.', body)
    } else {
      show('blocked', `The shop refused the token (${body.error}).`, body)
    }
  } catch (err) {
    // getToken rejects with a VigilError (err.code) when the collector cannot be reached.
    show('blocked', `Could not check out: ${err.code ?? err.message}`, { error: err.code, message: err.message })
  } finally {
    button.disabled = cart.length === 0
  }
})

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault()
  const email = $('email').value
  try {
    const token = await vigil.getToken('login')
    // The password goes to the shop's own backend only; Vigil never sees field values.
    const res = await fetch('/demo/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, email }),
    })
    const body = await res.json()
    $('account').textContent = body.outcome === 'allowed' ? `Signed in as ${body.account}` : body.outcome === 'step-up' ? 'Check your e-mail for a code' : 'Sign-in blocked'
    show(body.outcome === 'allowed' ? 'allowed' : 'blocked', $('account').textContent, body)
  } catch (err) {
    show('blocked', `Could not sign in: ${err.code ?? err.message}`, { error: err.code, message: err.message })
  }
})

fetch('/demo/api/products')
  .then((r) => r.json())
  .then((body) => {
    products = body.products
    renderProducts()
    renderCart()
  })
