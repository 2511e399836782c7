// Breadcrumbs that name the experiment, run and step a view belongs to.
import { useEffect, useState } from "react";
import { getExperiment, type Experiment } from "../api/client";
import { Breadcrumbs } from "../context";

const experiments = new Map<string, Promise<Experiment>>();

function useExperimentName(id?: string | null): string | undefined {
  const [name, setName] = useState<string>();
  useEffect(() => {
    if (!id) return;
    let live = true;
    let found = experiments.get(id);
    if (!found) {
      found = getExperiment(id);
      found.catch(() => experiments.delete(id));
      experiments.set(id, found);
    }
    found.then(
      (e) => live && setName(e.name),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [id]);
  return name;
}

/** experiments › NAME › (what this view shows of it), as on a run's page. */
export function ExperimentCrumbs({ id, here }: { id: string; here: string }) {
  const name = useExperimentName(id);
  return <Breadcrumbs items={[{ label: "experiments", to: "/experiments" }, { label: name ?? id.slice(0, 8), to: `/experiments/${id}/runs` }, { label: here }]} />;
}
