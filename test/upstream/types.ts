/**
 * One ported upstream test parametrization. `run` executes it in one mode through our public API and
 * returns a failure text, or undefined when it passed. Cases are data; the runner (./run.ts) runs every
 * case in every mode of its component and prints `upstream: N passed, M failed`.
 */
export type JupyterHubMode = 'jupyterhub 5.x' | 'jupyterhub 6.0'
export type CondaStoreMode = 'compat' | 'default'
export type Mode = JupyterHubMode | CondaStoreMode

export interface UpstreamCase<M extends Mode = Mode> {
  /** Repository and path of the upstream test file. */
  readonly file: string
  /** The test function (and class, if any). */
  readonly test: string
  /** The parametrization, as upstream writes it (or a short description for unparametrized tests). */
  readonly params: string
  /** The commit the test was read from. */
  readonly commit: string
  /** The modes this case runs in. */
  readonly modes: readonly M[]
  /**
   * Set when our answer deliberately differs from upstream's in some mode: the reason, as documented in
   * docs/semantics/upstream-parity.md. The case then asserts our documented answer in that mode.
   */
  readonly differs?: string
  readonly run: (mode: M) => string | undefined | Promise<string | undefined>
}

/** An upstream test we do not run, and why (listed in docs/semantics/upstream-parity.md). */
export interface NotRunnable {
  readonly file: string
  readonly tests: readonly string[]
  readonly why: string
}

export const JUPYTERHUB_COMMIT = '2841153db6c1c25d8b50955e2f4b39f78f3d0119'
export const CONDA_STORE_COMMIT = '9177dc6692ac2fd3b17dbbb72f93d1e357eedc8f'
export const NEBARI_COMMIT = '1ef6a619c32b8faa153a5685b25072292a31c7f5'

export const JH_MODES: readonly JupyterHubMode[] = ['jupyterhub 5.x', 'jupyterhub 6.0']
export const CS_MODES: readonly CondaStoreMode[] = ['compat', 'default']

export const versionOf = (mode: JupyterHubMode): 5 | 6 => (mode === 'jupyterhub 6.0' ? 6 : 5)
