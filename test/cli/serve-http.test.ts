import { describe, expect, it } from 'vitest'
import { duplicatedHeader, HttpRequestError, isHttpToken, isLoopbackHost, jsonMediaTypeProblem, rawHeaderValues } from '../../src/cli/serve-http.js'
import { encodeHeaderValue } from '../../src/cli/forward-auth.js'
import { KeycloakPermissionsError } from '../../src/core/errors.js'

describe('jsonMediaTypeProblem: exactly application/json, charset utf-8 only', () => {
  it.each([
    'application/json',
    'Application/JSON',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json ; charset="utf-8"',
    'application/json;',
  ])('accepts %j', (type) => expect(jsonMediaTypeProblem(type)).toBeUndefined())

  it('the spellings accepted without parsing differ from a refused one by nothing but what the parse accepts', () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']) {
      expect(jsonMediaTypeProblem(type)).toBeUndefined()
      expect(jsonMediaTypeProblem(`${type} `)).toBeUndefined()
      expect(jsonMediaTypeProblem(`${type}x`)).toBeDefined()
      expect(jsonMediaTypeProblem(`${type}; charset=utf-8`)).toBe(type === 'application/json' ? undefined : 'charset given twice')
    }
  })

  it.each([
    [undefined, /no Content-Type/],
    ['', /no Content-Type/],
    ['application/jsonfoo', /is not application\/json/],
    ['application/json-patch+json', /is not application\/json/],
    ['application/jsonp; charset=utf-8', /is not application\/json/],
    ['text/json', /is not application\/json/],
    ['application/json; charset=utf-16', /charset "utf-16"/],
    ['application/json; charset=iso-8859-1', /charset/],
    ['application/json; charset=utf-8; charset=utf-8', /charset given twice/],
    ['application/json; boundary=x', /only charset=utf-8/],
    ['application/json; charset', /only charset=utf-8/],
  ])('refuses %j', (type, problem) => expect(jsonMediaTypeProblem(type)).toMatch(problem))
})

describe('duplicatedHeader / rawHeaderValues (Node keeps only the first Authorization in req.headers)', () => {
  const names = new Set(['authorization', 'content-type'])
  it('finds a repeated header case-insensitively', () => {
    expect(duplicatedHeader(['Authorization', 'Bearer a', 'host', 'x', 'AUTHORIZATION', 'Bearer b'], names)).toBe('authorization')
    expect(duplicatedHeader(['Authorization', 'Bearer a', 'X-Other', '1', 'x-other', '2'], names)).toBeUndefined()
    expect(rawHeaderValues(['X-Original-URI', '/a', 'x-original-uri', '/b'], 'x-original-uri')).toEqual(['/a', '/b'])
  })
})

describe('isLoopbackHost: only addresses nothing else can reach', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (h) =>
    expect(isLoopbackHost(h)).toBe(true),
  )
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.org', 'localhost.example.org', '::ffff:10.0.0.1', '128.0.0.1'])('%s is not', (h) =>
    expect(isLoopbackHost(h)).toBe(false),
  )
})

describe('isHttpToken and encodeHeaderValue', () => {
  it('methods are RFC 9110 tokens', () => {
    expect(['GET', 'DELETE', 'PROPFIND', 'get'].every(isHttpToken)).toBe(true)
    expect(['', 'GET /x', 'GE\rT', 'G"ET', 'x'.repeat(65)].some(isHttpToken)).toBe(false)
  })
  it('keeps printable ASCII except %, encodes the rest as UTF-8 bytes', () => {
    expect(encodeHeaderValue('alice@example.org')).toBe('alice@example.org')
    expect(encodeHeaderValue('zoë 100%')).toBe('zo%C3%AB%20100%25')
    expect(decodeURIComponent(encodeHeaderValue('zoë 100%\r\n'))).toBe('zoë 100%\r\n')
  })
  it('HttpRequestError is a typed library error with the status and JSON code', () => {
    const err = new HttpRequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'x')
    expect(err).toBeInstanceOf(KeycloakPermissionsError)
    expect([err.status, err.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE'])
  })
})
