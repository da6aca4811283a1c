/// One measured figure: a kernel on a shape, with one backend and thread count.
struct Measurement {
  var kernel: String
  var shape: String
  var backend: String
  var threads: Int
  var seconds: Double
  /// Work rate: GFLOP/s for compute-bound kernels, GB/s for memory-bound ones.
  var rate: Double
  var rateUnit: BenchmarkCase.RateUnit
  var ratioToOpenBLAS: Double?
  /// Time of the case's first contender ÷ this one's (the engines' speed-up).
  var ratioToFirst: Double = 1

  var jsonLine: String {
    var fields = [
      "\"kernel\": \"\(kernel)\"", "\"shape\": \"\(shape)\"", "\"backend\": \"\(backend)\"",
      "\"threads\": \(threads)", "\"seconds\": \(seconds)",
    ]
    fields.append("\"\(rateUnit.jsonKey)\": \(rate)")
    fields.append("\"ratio_to_openblas\": \(ratioToOpenBLAS.map { "\($0)" } ?? "null")")
    fields.append("\"ratio_to_first\": \(ratioToFirst)")
    return "{" + fields.joined(separator: ", ") + "}"
  }
}

func formatTable(_ rows: [Measurement]) -> String {
  let header = ["kernel", "shape", "backend", "threads", "time", "rate", "vs openblas", "vs first"]
  let body = rows.map { row -> [String] in
    [
      row.kernel, row.shape, row.backend, "\(row.threads)",
      formatSeconds(row.seconds), String(format2: row.rate) + " " + row.rateUnit.rawValue,
      row.ratioToOpenBLAS.map { String(format2: $0) + "×" } ?? "-",
      String(format2: row.ratioToFirst) + "×",
    ]
  }
  let all = [header] + body
  let widths = (0..<header.count).map { column in all.map { $0[column].count }.max() ?? 0 }
  return all.map { line in
    zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
      .joined(separator: "  ")
  }.joined(separator: "\n")
}

func formatSeconds(_ seconds: Double) -> String {
  if seconds < 1e-3 { return String(format2: seconds * 1e6) + " µs" }
  if seconds < 1 { return String(format2: seconds * 1e3) + " ms" }
  return String(format2: seconds) + " s"
}

extension String {
  /// Two decimals, without Foundation.
  init(format2 value: Double) {
    guard value.isFinite else { self = "\(value)"; return }
    let scaled = (value * 100).rounded()
    let whole = Int(scaled / 100)
    let fraction = Int(abs(scaled).truncatingRemainder(dividingBy: 100))
    let sign = value < 0 && whole == 0 ? "-" : ""
    self = sign + "\(whole)." + (fraction < 10 ? "0" : "") + "\(fraction)"
  }

  func padding(toLength length: Int, withPad pad: Character, startingAt _: Int) -> String {
    count >= length ? self : self + String(repeating: pad, count: length - count)
  }
}
