/**
 * Minimal typings for the parts of dcmjs (0.50) this project uses; the package ships none.
 * Import with named imports (`import { data, log } from 'dcmjs'`): the CommonJS build sets __esModule.
 */
declare module 'dcmjs' {
  /** A dataset keyed by DICOM keyword (PatientName, Rows, ...), as dcmjs "naturalizes" it. */
  export type NaturalDataset = Record<string, unknown>;
  /** A dataset keyed by tag hex ("00100010") with { vr, Value } entries. */
  export type DenaturalizedDataset = Record<string, { vr: string; Value?: unknown[] }>;

  export namespace data {
    class DicomDict {
      constructor(meta: DenaturalizedDataset);
      meta: DenaturalizedDataset;
      dict: DenaturalizedDataset;
      write(options?: Record<string, unknown>): ArrayBuffer;
    }
    class DicomMessage {
      static readFile(
        buffer: ArrayBuffer,
        options?: { ignoreErrors?: boolean; untilTag?: string | null; noCopy?: boolean },
      ): DicomDict;
    }
    class DicomMetaDictionary {
      static naturalizeDataset(dataset: DenaturalizedDataset): NaturalDataset;
      static denaturalizeDataset(dataset: NaturalDataset): DenaturalizedDataset;
      static uid(): string;
    }
  }

  interface Logger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }
  export const log: Logger & { getLogger(name: string): Logger };
}
