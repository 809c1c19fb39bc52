// The official openai client against hifp8 serve: completions and chat, plain and streaming (the
// streamed text must equal the plain text at temperature 0), and the errors the client maps to its
// exception classes. Env: BASE_URL, API_KEY, MODEL. Exits non-zero on the first failed check.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const model = process.env.MODEL;
let failures = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + detail}`);
  if (!ok) failures++;
}

const prompt = "Once upon a time there was a little";
const plain = await client.completions.create({ model, prompt, max_tokens: 12, temperature: 0 });
check("completion text", typeof plain.choices[0].text === "string" && plain.choices[0].text.length > 0, JSON.stringify(plain));
check("completion usage", plain.usage.completion_tokens > 0 && plain.usage.prompt_tokens > 0, JSON.stringify(plain.usage));
let streamed = "";
for await (const chunk of await client.completions.create({ model, prompt, max_tokens: 12, temperature: 0, stream: true }))
  streamed += chunk.choices[0]?.text ?? "";
check("streamed completion equals plain", streamed === plain.choices[0].text, `${JSON.stringify(streamed)} vs ${JSON.stringify(plain.choices[0].text)}`);

const messages = [{ role: "system", content: "You tell short stories." }, { role: "user", content: "Tell me about a cat." }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
check("chat message", chat.choices[0].message.role === "assistant" && chat.choices[0].message.content.length > 0, JSON.stringify(chat));
check("chat finish_reason", ["stop", "length"].includes(chat.choices[0].finish_reason), chat.choices[0].finish_reason);
let chatStreamed = "";
for await (const chunk of await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0, stream: true }))
  chatStreamed += chunk.choices[0]?.delta?.content ?? "";
check("streamed chat equals plain", chatStreamed === chat.choices[0].message.content, `${JSON.stringify(chatStreamed)} vs ${JSON.stringify(chat.choices[0].message.content)}`);

const sampled = await client.completions.create({ model, prompt, max_tokens: 8, temperature: 0.8, top_p: 0.9, seed: 7 });
const again = await client.completions.create({ model, prompt, max_tokens: 8, temperature: 0.8, top_p: 0.9, seed: 7 });
check("seeded sampling repeats", sampled.choices[0].text === again.choices[0].text);

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    return e.status;
  }
}
check("unknown model -> 404", (await status(client.completions.create({ model: "nope", prompt, max_tokens: 2 }))) === 404);
check("bad max_tokens -> 400", (await status(client.completions.create({ model, prompt, max_tokens: -5 }))) === 400);
const noKey = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "wrong-key", maxRetries: 0 });
check("wrong API key -> 401", (await status(noKey.completions.create({ model, prompt, max_tokens: 2 }))) === 401);

console.log(failures ? `${failures} openai-client checks failed` : "all openai-client checks passed");
process.exit(failures ? 1 : 0);
