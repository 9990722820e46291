// The load generator of bench/serve.ts, in its own process so that it shares no event loop with the
// server under test: autocannon used as its README shows for its API (`autocannon(opts)` → result),
// `requests` cycled per connection. Reads its options as JSON from argv[2]; prints the result as JSON.
//
// Latency percentiles come from autocannon's own per-response times (its `response` event gives each
// 2xx answer's time from process.hrtime, in fractional ms), sorted here: autocannon's histogram stores
// whole milliseconds, so at a 1–3 ms p99 one millisecond of rounding moved the p99 ratio by 0.3–0.5×.
// Its rounded figures are passed on too (`p50MsRounded`, `p99MsRounded`) for comparison.
import autocannon from 'autocannon'

const { url, connections, duration, requests } = JSON.parse(process.argv[2])
let times = new Float64Array(1 << 16)
let count = 0
const instance = autocannon({ url, connections, duration, requests, pipelining: 1 })
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (statusCode < 200 || statusCode > 299) return
  if (count === times.length) {
    const grown = new Float64Array(times.length * 2)
    grown.set(times)
    times = grown
  }
  times[count++] = responseTime
})
const result = await instance
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
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
)
