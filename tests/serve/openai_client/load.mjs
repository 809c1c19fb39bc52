// Load test for hifp8 serve with the openai client: CLIENTS concurrent streaming clients x REQUESTS
// requests each (max_tokens TOKENS). Prints one JSON line: requests/s, generated tokens/s, latency
// p50/p99 (ms), time to first token p50/p99 (ms), errors. Env: BASE_URL, API_KEY, MODEL, CLIENTS,
// REQUESTS, TOKENS.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0, timeout: 600000 });
const model = process.env.MODEL;
const clients = Number(process.env.CLIENTS ?? 64), requests = Number(process.env.REQUESTS ?? 20);
const tokens = Number(process.env.TOKENS ?? 16);
const latencies = [], firsts = [];
let generated = 0, errors = 0;

async function one(i) {
  const t0 = performance.now();
  let first = 0, text = "";
  try {
    const stream = await client.completions.create({
      model, prompt: `Story number ${i}: once upon a time`, max_tokens: tokens, temperature: 0.8, seed: i, stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      if (!first && chunk.choices?.[0]?.text) first = performance.now() - t0;
      text += chunk.choices?.[0]?.text ?? "";
      if (chunk.usage) generated += chunk.usage.completion_tokens;
    }
    latencies.push(performance.now() - t0);
    firsts.push(first);
  } catch (e) {
    errors++;
    console.error(`request ${i}: ${e.status ?? ""} ${e.message}`);
  }
}

const start = performance.now();
await Promise.all(Array.from({ length: clients }, async (_, c) => {
  for (let r = 0; r < requests; r++) await one(c * requests + r);
}));
const seconds = (performance.now() - start) / 1000;
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };
console.log(JSON.stringify({
  clients, requests_per_client: requests, max_tokens: tokens, seconds: +seconds.toFixed(2),
  requests_per_s: +((clients * requests - errors) / seconds).toFixed(2), tokens_per_s: +(generated / seconds).toFixed(1),
  latency_ms_p50: +pct(latencies, 0.5).toFixed(1), latency_ms_p99: +pct(latencies, 0.99).toFixed(1),
  first_token_ms_p50: +pct(firsts, 0.5).toFixed(1), first_token_ms_p99: +pct(firsts, 0.99).toFixed(1), errors,
}));
process.exit(errors ? 1 : 0);
