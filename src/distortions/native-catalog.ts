/**
 * The catalog as a C++ header, so the native engine checks parameters against the same description
 * (kernels are bound to these names in native/src; ranges and defaults come only from here).
 * `npm run gen:catalog` writes it; test/unit/native-catalog.test.ts fails when the committed copy is stale.
 */
import { CATALOG } from './catalog';

export const NATIVE_CATALOG_HEADER = 'native/include/medpsim/catalog.generated.hpp';

function number(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export function renderNativeCatalogHeader(): string {
  const kinds = CATALOG.map((kind) => {
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
