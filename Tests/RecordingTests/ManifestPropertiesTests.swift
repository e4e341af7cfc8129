import Foundation
import Recording
import TapedeckTestSupport
import Testing

@Suite struct ManifestPropertiesTests {
    @Test func faultsAreAJSONArrayAndSeedANumberAndOldStringFormsStillRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pcap = directory.file("m.pcap")
        let faults = #"[{"attributes":{"latency":5},"name":"latency_downstream","stream":"downstream","toxicity":1,"type":"latency"}]"#
        let seed = "18446744073709551615"
        try Manifest(file: "m.pcap", sessions: [], properties: ["faults": faults, "seed": seed, "proxy": "p"]).write(forRecording: pcap)
        let raw = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pcap + ".json"))) as? [String: Any])
        let properties = try #require(raw["properties"] as? [String: Any])
        #expect((properties["faults"] as? [[String: Any]])?.first?["name"] as? String == "latency_downstream")
        #expect(properties["seed"] is NSNumber)
        #expect(properties["proxy"] as? String == "p")
        let read = try #require(try Manifest.load(forRecording: pcap))
        #expect(read.properties == ["faults": faults, "seed": seed, "proxy": "p"])

        // A manifest written before, with the string forms.
        let old = #"{"file":"m.pcap","format":"tapedeck-recording","format_version":1,"properties":{"faults":"[]","seed":"7"},"sessions":[],"tool_version":"0"}"#
        try Data(old.utf8).write(to: URL(fileURLWithPath: pcap + ".json"))
        #expect(try Manifest.load(forRecording: pcap)?.properties == ["faults": "[]", "seed": "7"])
    }
}
