import Foundation

/// model.safetensors, or the shards a model.safetensors.index.json names (in
/// file-name order, each tensor checked to be where the index says).
func safetensorsWeightFiles(in directory: URL) throws(CheckpointError) -> [SafetensorsFile] {
  let fileManager = FileManager.default
  let single = directory.appendingPathComponent("model.safetensors")
  let index = directory.appendingPathComponent("model.safetensors.index.json")
  if fileManager.fileExists(atPath: single.path) { return [try SafetensorsFile(contentsOf: single)] }
  if fileManager.fileExists(atPath: index.path) {
    guard let data = fileManager.contents(atPath: index.path),
      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
      let weightMap = object["weight_map"] as? [String: String]
    else {
      throw CheckpointError("\(index.path): not a safetensors index (a JSON object with a 'weight_map' of tensor name to file)")
    }
    var names: [String] = []
    for file in weightMap.values.sorted() where !names.contains(file) { names.append(file) }
    var files: [SafetensorsFile] = []
    for name in names {
      if name.contains("/") { throw CheckpointError("\(index.path): shard '\(name)' must be a file in the model directory") }
      files.append(try SafetensorsFile(contentsOf: directory.appendingPathComponent(name)))
    }
    for (tensor, fileName) in weightMap.sorted(by: { $0.key < $1.key }) {
      let file = files[names.firstIndex(of: fileName)!]
      if file.tensors[tensor] == nil {
        throw CheckpointError("\(index.path): maps '\(tensor)' to \(fileName), which has no such tensor")
      }
    }
    return files
  }
  for legacy in ["pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"]
  where fileManager.fileExists(atPath: directory.appendingPathComponent(legacy).path) {
    throw CheckpointError("\(directory.path): only \(legacy), no model.safetensors; convert it first, e.g. python3 -c \"from transformers import AutoModel; AutoModel.from_pretrained('\(directory.path)').save_pretrained('OUT', safe_serialization=True)\"")
  }
  throw CheckpointError("\(directory.path): no model.safetensors or model.safetensors.index.json")
}

/// A Hugging Face config.json read as a JSON object, with typed lookups whose
/// errors name the file, the key and the value.
struct HuggingFaceConfig {
  let path: String
  let object: [String: Any]

  init(directory: URL) throws(CheckpointError) {
    let url = directory.appendingPathComponent("config.json")
    path = url.path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckpointError("\(path): missing or unreadable (a Hugging Face model directory has config.json)")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw CheckpointError("\(path): not a JSON object")
    }
    self.object = object
  }

  var modelType: String { object["model_type"] as? String ?? "(missing)" }

  /// The first of `keys` present; nil (JSON null) counts as absent.
  private func first(_ keys: [String]) -> (key: String, value: Any)? {
    for key in keys { if let value = object[key], !(value is NSNull) { return (key, value) } }
    return nil
  }

  /// A positive integer under the first of `keys` present, else `fallback`.
  func integer(_ keys: String..., default fallback: Int? = nil) throws(CheckpointError) -> Int {
    guard let (key, value) = first(keys) else {
      if let fallback { return fallback }
      throw CheckpointError("\(path): '\(keys[0])' is missing")
    }
    guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue), integer > 0, integer <= 1 << 31 else {
      throw CheckpointError("\(path): '\(key)' must be a positive integer up to 2³¹, got \(value)")
    }
    return integer
  }

  /// A finite number under the first of `keys` present, else `fallback`.
  func number(_ keys: String..., default fallback: Double) throws(CheckpointError) -> Double {
    guard let (key, value) = first(keys) else { return fallback }
    guard let number = value as? NSNumber, number.doubleValue.isFinite else {
      throw CheckpointError("\(path): '\(key)' must be a number, got \(value)")
    }
    return number.doubleValue
  }

  func bool(_ key: String, default fallback: Bool) throws(CheckpointError) -> Bool {
    guard let (_, value) = first([key]) else { return fallback }
    guard let flag = value as? Bool else { throw CheckpointError("\(path): '\(key)' must be true or false, got \(value)") }
    return flag
  }

  func string(_ key: String, default fallback: String) throws(CheckpointError) -> String {
    guard let (_, value) = first([key]) else { return fallback }
    guard let text = value as? String else { throw CheckpointError("\(path): '\(key)' must be a string, got \(value)") }
    return text
  }

  /// The value under `key` unless absent or null.
  subscript(key: String) -> Any? { first([key])?.value }
}

/// config.json's `model_type` in `directory`, or nil when there is no
/// readable config.json with one (the BERT loader then names the problem).
public func huggingFaceModelType(in directory: URL) -> String? {
  (try? HuggingFaceConfig(directory: directory)).flatMap { $0.object["model_type"] as? String }
}
