// The load generator of bench/serve.ts, in its own process so that it shares no event loop with the
// server under test: autocannon used as its README shows for its API (`autocannon(opts)` → result),
// `requests` cycled per connection. Reads its options as JSON from argv[2]; prints the result as JSON.
//
// Latencies are timed here, per connection, not taken from autocannon's own figures:
// - autocannon's histogram stores whole milliseconds: at a 1–3 ms p99, one millisecond of rounding moved
//   the p99 ratio by 0.3–0.5× between runs;
// - autocannon 9 times each answer from the oldest request still in its client's queue, and a request
//   it writes to a connection the server is closing (`Connection: close`, as `serve` sends on a
//   connection's 1,000th answer) is never answered but stays in that queue: every later answer of that
//   client is timed from an earlier request. Against a server answering in 10 ms and closing after 3
//   answers, autocannon reported 11.8, then 23.6, then 35.1 ms. A node:http server that recycles its
//   connections after 1,000 requests measured twice its p50 that way (2.4 against 1.2 ms).
// Here each client's `request` event (emitted as autocannon writes a request) records the time and the
// connection it was written to; an answer is timed from the oldest request written to the connection
// it arrived on, and requests left on a replaced connection are dropped as unanswered. autocannon's own
// (rounded, possibly shifted) percentiles are passed on as `p50MsRounded` / `p99MsRounded`.
import autocannon from 'autocannon'

const { url, connections, duration, requests } = JSON.parse(process.argv[2])
let times = new Float64Array(1 << 16)
let count = 0
let unmatched = 0
let unanswered = 0
let requestEvents = 0
const record = (ms) => {
  if (count === times.length) {
    const grown = new Float64Array(times.length * 2)
    grown.set(times)
    times = grown
  }
  times[count++] = ms
}
const setupClient = (client) => {
  const sent = []
  client.on('request', () => {
    requestEvents++
    sent.push({ conn: client.conn, at: process.hrtime.bigint() })
  })
  client.on('response', (statusCode) => {
    const now = process.hrtime.bigint()
    while (sent.length > 0 && sent[0].conn !== client.conn) {
      sent.shift()
      unanswered++
    }
    const request = sent.shift()
    if (request === undefined) return void unmatched++
    if (statusCode >= 200 && statusCode <= 299) record(Number(now - request.at) / 1e6)
  })
}
const result = await autocannon({ url, connections, duration, requests, pipelining: 1, setupClient })
// If autocannon stops emitting `request` or replacing `conn` per connection, the figures above would be
// wrong: fail instead.
if (requestEvents === 0 || unmatched > 0) throw new Error(`autocannon-run: ${requestEvents} request events, ${unmatched} answers without a request`)
const sorted = times.subarray(0, count).sort()
// Nearest rank: the smallest time at or below which p% of the answers fall.
const percentile = (p) => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)])
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    p50MsRounded: result.latency.p50,
    p99MsRounded: result.latency.p99,
    timed: count,
    unanswered,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
)
