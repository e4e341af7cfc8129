/// The version Tapedeck writes into manifests and prints for `--version`.
public enum TapedeckVersion {
    public static let current = "0.1.0"
}
