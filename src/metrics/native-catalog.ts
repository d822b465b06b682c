/**
 * The metric catalog as a C++ header (the engine binds its metric functions to these names and converts
 * colour by these rules) and as docs/metrics.md. `npm run gen:catalog` writes both;
 * test/unit/native-catalog.test.ts fails when a committed copy is stale.
 */
import { ENGINE_METRICS, METRICS } from './catalog';

export const NATIVE_METRICS_HEADER = 'native/include/medpsim/metrics.generated.hpp';
export const METRICS_DOC = 'docs/metrics.md';

function number(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export function renderNativeMetricsHeader(): string {
  const metrics = ENGINE_METRICS.map((metric) => {
    const params = metric.params
      .map((param) => `{"${param.name}", ${number(param.min)}, ${number(param.max)}, ${number(param.default)}, ${param.integer ? 'true' : 'false'}}`)
      .join(', ');
    return `    {"${metric.name}", "${metric.family}", "${metric.direction}", "${metric.channels}", {${params}}}`;
  });
  return `// Generated from src/metrics/catalog.ts by \`npm run gen:catalog\`: do not edit.
#pragma once

#include <vector>

namespace medpsim::catalog {

struct MetricParam {
  const char* name;
  double min;
  double max;
  double default_value;
  bool integer;
};

struct Metric {
  const char* name;
  const char* family;
  const char* direction;  // "distance" or "similarity"
  const char* channels;   // "pooled", "per_channel" or "luminance"
  std::vector<MetricParam> params;
};

inline const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = {
${metrics.join(',\n')},
  };
  return all;
}

}  // namespace medpsim::catalog
`;
}

const CHANNEL_RULES = {
  pooled: 'RGB: every sample of every channel pooled.',
  per_channel: 'RGB: computed per channel, the channels\' values averaged.',
  luminance: 'RGB: on BT.601 luma (0.299 R + 0.587 G + 0.114 B).',
  model: 'what the backbone takes: RGB becomes luma for a 1-channel graph, grey is repeated for a 3-channel one.',
};

/** The catalog as a Markdown page (docs/metrics.md). */
export function renderMetricsMarkdown(): string {
  const lines = [
    '# Metric catalog',
    '',
    'Generated from `src/metrics/catalog.ts` by `npm run gen:catalog`: do not edit.',
    '',
    'Every metric compares two images of the same size and channel count. Samples are read as stored (8-bit',
    'values / 255, 16-bit / 65535) and the **data range** L, the peak signal the constants scale with, comes',
    'from the bit depth: 255 for 8-bit, 65535 for 16-bit images, and 2^b - 1 when the image records that its',
    'data has b stored bits (DICOM BitsStored, e.g. 4095 for 12-bit data kept in a 16-bit PNG). A caller may',
    'name the bits (`dataBits`); a sample above 2^dataBits - 1 is refused rather than scored with the wrong',
    'range (a 16-bit image scored as 8-bit would otherwise report nonsense). The same metric name gives',
    'different numbers in different toolkits: each entry pins its settings and says how it relates to',
    'scikit-image and the PyTorch toolkits.',
    '',
    'The per-pixel map (on request) always has the input\'s size. Each metric has a `version`; stored scores',
    'carry it, and a new version is recomputed rather than mixed with old values.',
    '',
  ];
  for (const metric of METRICS) {
    lines.push(`## \`${metric.name}\` (${metric.family}, ${metric.direction}, version ${metric.version})`, '', metric.description, '');
    if (metric.model) lines.push('- Needs a registered model (`model` in the request; `--model FILE.onnx` or `lpips:MODEL` on the command line).');
    lines.push(`- Reference: ${metric.reference}`);
    lines.push(`- Colour: ${CHANNEL_RULES[metric.channels]}`);
    lines.push(`- Smallest image: ${metric.minSideRule}`);
    lines.push(`- Map: ${metric.map}`);
    lines.push(`- Toolkits: ${metric.toolkits}`);
    for (const param of metric.params) {
      lines.push(`- Parameter \`${param.name}\`: ${param.min} .. ${param.max}${param.integer ? ' (integer)' : ''}, default ${param.default}: ${param.description}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
