/**
 * config.json as Python writes it: Transformers saves with json.dump, which spells non-finite floats as bare
 * Infinity, -Infinity and NaN (Mamba-2 configs carry `"time_step_limit": [0.0, Infinity]`). JSON.parse refuses
 * them; this reads them as the numbers they are, so a config that loads in Transformers loads here.
 */
const SENTINEL = "\u0000non-finite:";

export function parseConfigJson(text: string): unknown {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    const token = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (token) {
      out += JSON.stringify(SENTINEL + token[1]);
      i += token[1].length - 1;
      continue;
    }
    out += c;
  }
  return JSON.parse(out, (_key, value: unknown) => {
    if (typeof value !== "string" || !value.startsWith(SENTINEL)) return value;
    const word = value.slice(SENTINEL.length);
    return word === "NaN" ? NaN : word.startsWith("-") ? -Infinity : Infinity;
  });
}
