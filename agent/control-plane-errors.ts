// How a call to the control plane failed: unreachable (retry it) or refused (do not).
export class ControlPlaneUnavailable extends Error {
  override readonly name = 'ControlPlaneUnavailable';
}

export class ControlPlaneRejected extends Error {
  override readonly name = 'ControlPlaneRejected';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
