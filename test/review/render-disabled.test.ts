import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { accessMatrix, accessReportJson, renderAccessReport } from '../../src/review/index.js'

const source = await RealmExportSource.fromFile('test/fixtures/realm-with-disabled-user.json')
const matrix = accessMatrix({ principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() })
const json = accessReportJson(matrix)
const disabled = json.users.filter((u) => u.disabled === true).map((u) => u.user)
const enabled = json.users.filter((u) => u.disabled !== true).map((u) => u.user)

describe('access reports mark disabled accounts as the JSON does', () => {
  it('the fixture has a disabled user (frank) and enabled ones', () => {
    expect(disabled).toEqual(['frank'])
    expect(enabled.length).toBeGreaterThan(0)
  })

  it('Markdown: the disabled users\' headings and the summary say so; no other heading does', () => {
    const md = renderAccessReport(matrix, 'md')
    const marked = [...md.matchAll(/^## (\S+) \(disabled\)$/gm)].map((m) => m[1])
    expect(marked).toEqual(disabled)
    for (const user of enabled) expect(md).toMatch(new RegExp(`^## ${user}$`, 'm'))
    expect(md).toContain(`${json.users.length} users (${disabled.length} disabled),`)
    expect(md.split('Account disabled in Keycloak.').length - 1).toBe(disabled.length)
  })

  it('HTML: the page data lists the disabled rows, and the row renderer marks them', () => {
    const html = renderAccessReport(matrix, 'html')
    const data = JSON.parse(html.match(/<script type="application\/json" id="review-data">(.*?)<\/script>/s)![1]!) as { users: string[]; disabled: number[] }
    expect(data.disabled.map((i) => data.users[i])).toEqual(disabled)
    expect(html).toContain('class="disabled"')
    expect(html).toContain('tr.disabled th.user')
  })

  it('a realm with no disabled account: no marks', () => {
    const example = RealmExportSource.example()
    const plain = accessMatrix({ principals: example.usernames().map((u) => example.resolveSync(u)), roles: example.roles() })
    expect(renderAccessReport(plain, 'md')).not.toContain('disabled')
    const data = JSON.parse(renderAccessReport(plain, 'html').match(/id="review-data">(.*?)<\/script>/s)![1]!) as { disabled: number[] }
    expect(data.disabled).toEqual([])
  })
})
