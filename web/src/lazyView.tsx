// A view whose code is a chunk of its own, fetched when first needed. Unlike React's `lazy`, it
// never suspends: a Suspense boundary holds back the content of a boundary that showed its
// fallback for 300 ms (React's throttle), which delayed every view's requests by that much even
// when its chunk was already in. Here the view draws `fallback` until the chunk is in, then the
// view itself, and `preload` lets the router fetch the chunk before the view is rendered.
import { useEffect, useState, type ComponentType, type ReactNode } from "react";

export interface LazyView<P> {
  (props: P): ReactNode;
  /** Fetch the view's chunk now (once); resolves when it is in. */
  preload: () => Promise<void>;
}

export function lazyView<P extends object>(load: () => Promise<ComponentType<P>>, fallback: ReactNode): LazyView<P> {
  let component: ComponentType<P> | undefined;
  let failure: unknown;
  let loading: Promise<void> | undefined;
  const preload = () =>
    (loading ??= load().then(
      (c) => void (component = c),
      (e: unknown) => void (failure = e),
    ));
  function View(props: P): ReactNode {
    const [, setLoaded] = useState(false);
    // What this render drew, not the chunk's state now: it may have come in since.
    const drawn = component !== undefined || failure !== undefined;
    useEffect(() => {
      let live = true;
      if (!drawn) void preload().then(() => live && setLoaded(true));
      return () => {
        live = false;
      };
    }, [drawn]);
    // A chunk that cannot be fetched fails the render, as React's `lazy` does.
    if (failure !== undefined) throw failure;
    if (!component) return fallback;
    const Component = component;
    return <Component {...props} />;
  }
  return Object.assign(View, { preload });
}
