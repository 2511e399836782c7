// The entity registry (modeltrail.domain.entities), written by `npm run openapi`: do not edit.
export const ENTITIES = [
  {
    "name": "experiment",
    "plural": "experiments",
    "browsed": true
  },
  {
    "name": "run",
    "plural": "runs",
    "browsed": true
  },
  {
    "name": "pipeline",
    "plural": "pipelines",
    "browsed": false
  },
  {
    "name": "executable",
    "plural": "executables",
    "browsed": false
  },
  {
    "name": "execution",
    "plural": "executions",
    "browsed": true
  },
  {
    "name": "artifact",
    "plural": "artifacts",
    "browsed": true
  }
] as const;
// The entities the UI has a table of, by plural: its routes /<plural> and its menu.
export const BROWSED = ["experiments", "runs", "executions", "artifacts"] as const;
export type EntityName = (typeof BROWSED)[number];
