/**
 * The catalog as a C++ header, so the native engine checks parameters against the same description
 * (kernels are bound to these names in native/src; ranges and defaults come only from here).
 * `npm run gen:catalog` writes it; test/unit/native-catalog.test.ts fails when the committed copy is stale.
 */
import { decimalsOf } from './spec';
import { CATALOG, NATIVE_KINDS, describeMapping } from './catalog';

export const NATIVE_CATALOG_HEADER = 'native/include/medpsim/catalog.generated.hpp';

function number(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export function renderNativeCatalogHeader(): string {
  const kinds = NATIVE_KINDS.map((kind) => {
    const params = kind.params
      .map((param) => {
        const allowed = `{${(param.allowed ?? []).map(number).join(', ')}}`;
        return `{"${param.name}", ${number(param.min)}, ${number(param.max)}, ${number(param.default)}, ${param.integer ? 'true' : 'false'}, ${allowed}}`;
      })
      .join(',\n       ');
    return `    {"${kind.name}", "${kind.family}", ${kind.random}, ${kind.needsColor},\n      {${params}}}`;
  });
  return `// Generated from src/distortions/catalog.ts by \`npm run gen:catalog\`: do not edit.
#pragma once

#include <vector>

namespace medpsim::catalog {

struct Param {
  const char* name;
  double min;
  double max;
  double default_value;
  bool integer;
  std::vector<double> allowed;  // empty: any value in [min, max]
};

struct Kind {
  const char* name;
  const char* family;
  bool random;       // uses the seed
  bool needs_color;  // needs 3 channels (greyscale images are refused)
  std::vector<Param> params;
};

inline const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all = {
${kinds.join(',\n')},
  };
  return all;
}

}  // namespace medpsim::catalog
`;
}

export const CATALOG_DOC = 'docs/distortions.md';

/** The catalog as a Markdown page (docs/distortions.md), from the same description. */
export function renderCatalogMarkdown(): string {
  const lines = [
    '# Distortion catalog',
    '',
    'Generated from `src/distortions/catalog.ts` by `npm run gen:catalog`: do not edit. Severity s in [0, 1]:',
    '0 is exactly the identity, 1 strong but recognisable; "x shorter side" values scale with the image.',
    'Colour kinds apply to RGB images only. Seeded kinds use counter-based random numbers (Philox4x32-10',
    'keyed by the seed), so the same spec and seed give the same image on any thread count.',
    '',
    'Parameters a severity sets are rounded to the decimals shown (five significant digits of the range).',
    'A kind\'s *amounts* are the parameters with a severity mapping. A step that names one of them (`params:',
    '{ rotation: 4 }`) gets exactly the amounts it names: the others stay at their value at severity 0, so',
    'naming a rotation adds no shear. A step that names none of them takes the defaults for what it does not name.',
    '',
  ];
  for (const family of new Set(CATALOG.map((kind) => kind.family))) {
    lines.push(`## ${family}`, '');
    for (const kind of CATALOG.filter((k) => k.family === family)) {
      const flags = [
        kind.random ? 'seeded' : '',
        kind.needsColor ? 'colour images only' : '',
        kind.model ? `runs a registered \`${kind.model}\` model named in the step's \`model\`` : '',
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(`### \`${kind.name}\`${flags ? ` (${flags})` : ''}`, '', kind.description, '');
      lines.push('| parameter | unit | range | default | severity 0 -> 1 | decimals | meaning |', '|---|---|---|---|---|---|---|');
      for (const param of kind.params) {
        const range = param.allowed ? param.allowed.join(' or ') : `${param.min} .. ${param.max}${param.integer ? ' (integer)' : ''}`;
        const mapping = kind.severity[param.name];
        const severity = mapping ? `${describeMapping(param, mapping).replace(`${param.name}: `, '')} (an amount)` : 'default';
        lines.push(`| \`${param.name}\` | ${param.unit} | ${range} | ${param.default} | ${severity} | ${decimalsOf(param)} | ${param.description} |`);
      }
      lines.push('');
    }
  }
  return lines.join('\n');
}
