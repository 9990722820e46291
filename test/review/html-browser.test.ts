import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { accessMatrix, renderAccessReport } from '../../src/review/index.js'
import { generateRealm } from './generate-realm.js'

// page.evaluate / waitForFunction callbacks run in the browser, where `document` exists.
declare const document: any

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = resolve(import.meta.dirname, '../../docs/report-screenshot.png')
const hasChromium = existsSync(CHROMIUM)

function reportFile(dir: string, name: string, source: RealmExportSource, environments?: { namespace: string; name: string }[]): string {
  const matrix = accessMatrix({ principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() }, environments ? { environments } : {})
  const path = join(dir, name)
  writeFileSync(path, renderAccessReport(matrix, 'html', { title: `Access review — realm ${source.realm}` }))
  return path
}

/** The rows the filter keeps (only those in view are in the DOM). */
const shownRows = async (page: Page) => Number(await page.locator('#matrix').getAttribute('data-rows'))
const rows = (page: Page) => page.locator('#matrix tbody tr[data-u]')
const columns = (page: Page) => page.locator('#matrix thead tr.cols th:not(.user)')

/** Types into the filter box and waits until the (debounced) filter has been applied. */
async function filter(page: Page, text: string, expectedRows?: number) {
  await page.fill('#filter', text)
  await page.waitForFunction((q) => document.getElementById('matrix')!.getAttribute('data-filter') === q, text.trim().toLowerCase(), { timeout: 10_000 })
  if (expectedRows !== undefined) expect(await shownRows(page)).toBe(expectedRows)
}

describe.skipIf(!hasChromium)('HTML report in a real browser (chromium via playwright-core)', () => {
  let browser: Browser
  let dir: string
  const external: string[] = []

  beforeAll(async () => {
    const { chromium } = await import('playwright-core')
    dir = mkdtempSync(join(tmpdir(), 'kp-html-'))
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function open(path: string, viewport = { width: 1400, height: 820 }): Promise<Page> {
    const page = await browser.newPage({ viewport })
    page.on('request', (req) => {
      if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) external.push(req.url())
    })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(pathToFileURL(path).href)
    await page.waitForSelector('#matrix tbody tr[data-u]')
    expect(errors).toEqual([])
    return page
  }

  it('marks the rows of accounts disabled in Keycloak (as the JSON report does), and only those', async () => {
    const source = await RealmExportSource.fromFile('test/fixtures/realm-with-disabled-user.json')
    const page = await open(reportFile(dir, 'disabled.html', source))
    expect(await rows(page).count()).toBe(source.usernames().length)
    const marked = await page.locator('#matrix tbody tr.disabled th.user').allTextContents()
    expect(marked).toEqual(['frank (disabled)'])
    const plain = await page.locator('#matrix tbody tr[data-u]:not(.disabled) th.user').allTextContents()
    expect(plain.sort()).toEqual(source.usernames().filter((u) => u !== 'frank').sort())
    await page.close()
  })

  it('renders the matrix, narrows it with the filter, shows the chain on click; saves the screenshot', async () => {
    const environments = JSON.parse(readFileSync('examples/realm/example-environments.json', 'utf8')).data.map((e: any) => ({ namespace: e.namespace.name, name: e.name }))
    const page = await open(reportFile(dir, 'example.html', RealmExportSource.example(), environments))
    expect(await rows(page).count()).toBe(6)
    expect(await shownRows(page)).toBe(6)
    const groups = await page.locator('#matrix thead tr.groups th:not(.user)').allTextContents()
    expect(groups).toEqual(['conda-store', 'conda-store-environments', 'jupyterhub', 'shared-directory', 'jupyterlab-profiles', 'workspaces'])
    const allColumns = await columns(page).count()
    expect(allColumns).toBeGreaterThan(40)
    expect(await page.locator('#summary').textContent()).toMatch(/^6 users × \d+ resources, \d+ grants, 1 lint diagnostics/)
    expect(await page.locator('#diagnostics li').allTextContents()).toEqual([expect.stringContaining('NEBARI_SCOPE_ROLE_REJECTED')])

    // A user name narrows the rows (and the columns to what that user holds).
    await filter(page, 'bob', 1)
    expect(await page.locator('#matrix tbody th').allTextContents()).toEqual(['bob'])
    const bobColumns = await columns(page).count()
    expect(bobColumns).toBeLessThan(allColumns)
    expect(await page.locator('#matrix tbody td:not(.g)').count()).toBe(0)

    // A resource narrows the columns, and the rows to its holders.
    await filter(page, 'ws-beta', 1)
    expect(await columns(page).allTextContents()).toEqual(['ws-beta'])
    expect(await page.locator('#matrix tbody th').allTextContents()).toEqual(['dave'])

    await filter(page, 'ml/*', 2)
    expect(await columns(page).allTextContents()).toEqual(['ml/*'])
    expect(await page.locator('#matrix tbody th').allTextContents()).toEqual(['bob', 'dave'])
    await page.locator('#matrix tbody tr').first().locator('td.g').first().click()
    expect(await page.locator('#details h2').textContent()).toBe('bob — conda-store')
    expect(await page.locator('#details .chains li').allTextContents()).toEqual(['bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin'])

    // The screenshot for the README: the whole matrix with dave's ml/* chain open.
    await filter(page, '', 6)
    const daveRow = page.locator('#matrix tbody tr', { has: page.locator('th', { hasText: /^dave$/ }) })
    const mlIndex = (await columns(page).allTextContents()).indexOf('ml/*')
    await daveRow.locator('td').nth(mlIndex).click()
    expect(await page.locator('#details .chains li').first().textContent()).toContain('dave → /projects/ml → conda_store/ml-team-scopes')
    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true })
    await page.screenshot({ path: SCREENSHOT })
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG')
    await page.close()
    expect(external).toEqual([])
  }, 60_000)

  it('stays usable for 1,000 users: renders, filters, headers stay put when scrolling', async () => {
    const source = new RealmExportSource(generateRealm({ users: 1000, groups: 50, namespaces: 200, workspaces: 100 }))
    const started = Date.now()
    const page = await open(reportFile(dir, 'large.html', source))
    const renderMs = Date.now() - started
    expect(await shownRows(page)).toBe(1000)
    // Only the rows in view (plus a margin) are rendered; scrolling renders the others.
    const rendered = await rows(page).count()
    expect(rendered).toBeGreaterThan(20)
    expect(rendered).toBeLessThan(200)
    await page.locator('#wrap').evaluate((el) => el.scrollTo(0, el.scrollHeight))
    await page.waitForSelector('#matrix tbody th:text-is("user-0999")')
    await page.locator('#wrap').evaluate((el) => el.scrollTo(0, 0))
    await page.waitForSelector('#matrix tbody th:text-is("user-0000")')
    const header = page.locator('#matrix thead tr.groups th').nth(1)
    const before = (await header.boundingBox())!.y
    const firstUser = page.locator('#matrix tbody th').first()
    const userX = (await firstUser.boundingBox())!.x
    await page.locator('#wrap').evaluate((el) => el.scrollBy(600, 5000))
    expect((await header.boundingBox())!.y).toBe(before)
    await page.locator('#wrap').evaluate((el) => el.scrollTo(600, 0))
    // Rows are rendered on scroll (virtualised): wait for the first one before measuring it.
    await page.waitForSelector('#matrix tbody th:text-is("user-0000")')
    await expect.poll(async () => (await firstUser.boundingBox())?.x).toBe(userX)
    await filter(page, 'user-0042', 1)
    const expected = await page.evaluate(() => {
      const data = JSON.parse(document.getElementById('review-data')!.textContent!)
      const cols: number[] = []
      data.columns.forEach((c: [number, string], i: number) => {
        if (`${data.components[c[0]]} ${c[1]}`.includes('ws-1')) cols.push(i)
      })
      return { columns: cols.length, rows: data.cells.filter((row: [number][]) => row.some((c) => cols.includes(c[0]))).length }
    })
    await filter(page, 'ws-1', expected.rows)
    const labels = await columns(page).allTextContents()
    expect(labels.length).toBe(expected.columns)
    for (const label of labels) expect(label).toContain('ws-1')
    await page.locator('#matrix tbody td.g').first().click()
    expect(await page.locator('#details .chains li').first().textContent()).toMatch(/^user-\d{4} → .*ws-1\d*\/ws_(access|admin)/)
    console.log(`1,000-user report: opened and rendered in ${renderMs} ms`)
    await page.close()
    expect(external).toEqual([])
  }, 90_000)
})

describe.skipIf(hasChromium)('HTML report in a real browser', () => {
  it.skipIf(true)('SKIPPED: no /usr/bin/chromium (install it: apt-get install -y chromium)', () => {})
})
