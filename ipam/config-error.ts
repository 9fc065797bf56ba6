// The network config's errors: each names the field and the bad value.
export class NetworkConfigError extends Error {
  constructor(message: string) {
    super(`network config: ${message}`);
    this.name = "NetworkConfigError";
  }
}

export class NetworkConfigMissingError extends NetworkConfigError {}
