// Validates Kubernetes manifests against the Kubernetes OpenAPI JSON schemas shipped by the npm
// package kubernetes-models (ajv under the hood), document by document, by apiVersion and kind.
//
//   node validate-k8s.mjs FILE...                 exit 0 when every document is valid, else 1
//   node validate-k8s.mjs --configmap-data FILE NAME KEY
//                                                 prints data[KEY] of ConfigMap NAME (exit 1 if absent)
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1";

const MODELS = {
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "apps/v1/DaemonSet": DaemonSet,
  "apps/v1/Deployment": Deployment,
};

// Returns the documents of `file` as plain objects, or throws naming the file and line.
function load(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { prettyErrors: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  if (out.length === 0) throw new Error(`${file}: no YAML document`);
  return out;
}

// Returns a list of problems of one document (empty when valid).
function problems(doc) {
  if (typeof doc !== "object" || Array.isArray(doc)) return ["not a mapping"];
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return [`unsupported apiVersion/kind ${doc.apiVersion}/${doc.kind}`];
  try {
    new Model(doc).validate();
  } catch (e) {
    return [e.message];
  }
  return [];
}

function configmapData(file, name, key) {
  const cm = load(file).find((d) => d.kind === "ConfigMap" && d.metadata?.name === name);
  const value = cm?.data?.[key];
  if (typeof value !== "string") {
    console.error(`${file}: no ConfigMap ${name} with data key ${key}`);
    return 1;
  }
  process.stdout.write(value);
  return 0;
}

function main(args) {
  if (args[0] === "--configmap-data") return configmapData(args[1], args[2], args[3]);
  if (args.length === 0) {
    console.error("usage: validate-k8s.mjs FILE...");
    return 2;
  }
  let bad = 0;
  for (const file of args) {
    let docs;
    try {
      docs = load(file);
    } catch (e) {
      console.error(e.message);
      bad++;
      continue;
    }
    for (const doc of docs) {
      const label = `${file}: ${doc?.kind ?? "?"} ${doc?.metadata?.name ?? "?"}`;
      const found = problems(doc);
      if (found.length === 0) {
        console.log(`${label}: valid`);
      } else {
        for (const p of found) console.error(`${label}: ${p}`);
        bad++;
      }
    }
  }
  return bad === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
