import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the JSON Schema for pipeline.yml (draft-07). Editors use it for validation and
 * completion, e.g. with the VS Code YAML extension:
 *   # yaml-language-server: $schema=<this path>
 * or the `yaml.schemas` setting. tsc copies the .json into dist beside this module.
 */
export const PIPELINE_SCHEMA_PATH: string = fileURLToPath(new URL('./pipeline.schema.json', import.meta.url));
