/// Faults: values, seeded randomness, schedulers and the NIOCore handlers that apply them.
