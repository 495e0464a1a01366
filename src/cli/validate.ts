/** `sysg validate`: schema and semantic checks of manifests, with file:line for every finding. */
import { formatDiagnostic } from '../unit/diagnostics.js';
import { loadManifestFile } from '../model/manifest.js';

export interface ValidateCliOptions {
  readonly json: boolean;
}

/** Exit status: 0 valid (warnings allowed), 1 when any manifest has errors. */
export function runValidate(files: readonly string[], opts: ValidateCliOptions): number {
  let errors = 0;
  const report: Array<{ file: string; valid: boolean; findings: unknown[] }> = [];
  for (const file of files) {
    const loaded = loadManifestFile(file);
    const fileErrors = loaded.diagnostics.filter((d) => d.severity === 'error').length;
    errors += fileErrors;
    if (opts.json) {
      report.push({
        file,
        valid: fileErrors === 0,
        findings: loaded.diagnostics.map((d) => ({ severity: d.severity, line: d.loc?.line, field: d.directive, message: d.message })),
      });
    } else {
      for (const d of loaded.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      if (fileErrors === 0) process.stdout.write(`${file}: valid\n`);
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return errors > 0 ? 1 : 0;
}
