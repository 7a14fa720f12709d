// Decodes an OTLP/JSON ExportTraceServiceRequest (stdin) with OpenTelemetry JS's protobufjs types
// and prints the spans it carries as JSON (stdout). Exits 1 with a message on stderr when the
// input is not valid OTLP/JSON: bad JSON, ids that are not hex of the right length, a message that
// fails verify(), or a field that does not survive the protobuf round trip (a misspelt or
// mistyped field would be silently dropped by fromObject; the round trip comparison catches it).
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const ID_FIELDS = { traceId: 16, spanId: 8, parentSpanId: 8 };

function fail(msg) {
  process.stderr.write(`decode: ${msg}\n`);
  process.exit(1);
}

// Returns a copy of `v` with OTLP/JSON hex ids turned into bytes (protobufjs reads strings in
// bytes fields as base64).
function hexToBytes(v, path = '') {
  if (Array.isArray(v)) return v.map((x, i) => hexToBytes(x, `${path}[${i}]`));
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (k in ID_FIELDS && typeof x === 'string') {
      if (!new RegExp(`^[0-9a-f]{${2 * ID_FIELDS[k]}}$`).test(x)) {
        fail(`${path}.${k}: expected ${2 * ID_FIELDS[k]} lowercase hex digits, got "${x}"`);
      }
      out[k] = Buffer.from(x, 'hex');
    } else {
      out[k] = hexToBytes(x, `${path}.${k}`);
    }
  }
  return out;
}

// Back to OTLP/JSON's conventions, dropping proto3 defaults so both sides compare equal.
function canonical(v, key = '') {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) {
    const a = v.map((x) => canonical(x));
    return a.length ? a : undefined;
  }
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const c = canonical(x, k);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length || key === 'value' ? out : undefined;
  }
  if (v === 0 || v === '' || v === false || v === '0') {
    return ['intValue', 'boolValue', 'doubleValue', 'stringValue'].includes(key) ? v : undefined;
  }
  return v;
}

// toObject({json: true}) renders bytes as base64.
function base64ToHex(b64) {
  return b64 ? Buffer.from(b64, 'base64').toString('hex') : '';
}

function anyValue(v) {
  if ('stringValue' in v) return ['string', v.stringValue];
  if ('boolValue' in v) return ['bool', v.boolValue];
  if ('intValue' in v) return ['int', Number(v.intValue)];
  if ('doubleValue' in v) return ['double', Number(v.doubleValue)];
  if ('arrayValue' in v) {
    return ['array', (v.arrayValue.values ?? []).map((x) => anyValue(x)[1])];
  }
  return ['empty', null];
}

function attributes(list) {
  const values = {};
  const types = {};
  for (const kv of list ?? []) {
    const [type, value] = anyValue(kv.value ?? {});
    values[kv.key] = value;
    types[kv.key] = type;
  }
  return { values, types };
}

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;

let json;
try {
  json = JSON.parse(input);
} catch (e) {
  fail(`not JSON: ${e.message}`);
}
const message = Request.fromObject(hexToBytes(json));
const problem = Request.verify(message);
if (problem) fail(`verify: ${problem}`);
const decoded = Request.decode(Request.encode(message).finish());
const back = Request.toObject(decoded, { longs: String, enums: Number, json: true });
if (!isDeepStrictEqual(canonical(back), canonical(json))) {
  fail(`round trip changed the request:\n sent ${JSON.stringify(canonical(json))}\n got  ` +
       `${JSON.stringify(canonical(back))}`);
}

const out = { resources: [], spans: [] };
for (const rs of back.resourceSpans ?? []) {
  out.resources.push(attributes(rs.resource?.attributes).values);
  for (const ss of rs.scopeSpans ?? []) {
    for (const s of ss.spans ?? []) {
      const attrs = attributes(s.attributes);
      out.spans.push({
        scope: ss.scope?.name ?? '',
        name: s.name,
        kind: s.kind ?? 0,
        traceId: base64ToHex(s.traceId),
        spanId: base64ToHex(s.spanId),
        parentSpanId: base64ToHex(s.parentSpanId),
        startTimeUnixNano: s.startTimeUnixNano ?? '0',
        endTimeUnixNano: s.endTimeUnixNano ?? '0',
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        attributes: attrs.values,
        attributeTypes: attrs.types,
      });
    }
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
