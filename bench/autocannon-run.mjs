// The load generator of bench/serve.ts, in its own process so that it shares no event loop with the
// server under test: autocannon used as its README shows for its API (`autocannon(opts)` → result),
// `requests` cycled per connection. Reads its options as JSON from argv[2]; prints the result as JSON.
import autocannon from 'autocannon'

const { url, connections, duration, requests } = JSON.parse(process.argv[2])
const result = await autocannon({ url, connections, duration, requests, pipelining: 1 })
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
)
