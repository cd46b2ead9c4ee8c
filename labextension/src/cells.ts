/**
 * Code inserted by "Salesforce: Insert session cell".
 *
 * Pure: no DOM, no JupyterLab imports (unit-tested under Node).
 */
import { validateConnectionName } from './validation';

/**
 * The cell source for connection `name`.
 *
 * @throws Error when `name` is not a valid connection name (so nothing but a
 * plain name can end up inside the Python string literal).
 */
export function sessionCellSource(name: string): string {
  const value = (name ?? '').trim();
  const error = validateConnectionName(value);
  if (error) {
    throw new Error(error);
  }
  return `import ak_salesforce_nb as aksf\nsf = aksf.session("${value}")`;
}
