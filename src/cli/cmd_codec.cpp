// hifp8 encode / decode: raw little-endian streams, stdin/stdout by default, like a Unix filter.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/format/format.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::cli {
namespace {

struct CodecArgs {
  std::string format;
  std::string layout = "ascend";
  std::string dtype = "f32";
  std::string encoder = "auto";
  bool saturate = false;
  int threads = 0;
  std::string in = "-";
  std::string out = "-";
};

// --layout rank selects the rank-ordered HiF8 byte layout (a registry format of its own).
const FormatInfo& resolve_format(const CodecArgs& a) {
  const FormatInfo& f = find_format(a.format);
  if (a.layout == "ascend") return f;
  if (a.layout != "rank") throw Error("unknown layout '" + a.layout + "' (known: ascend, rank)");
  if (f.id != FormatId::hif8 && f.id != FormatId::hif8_rank)
    throw Error("--layout rank applies to hif8 only, not " + std::string(f.name));
  return format_info(FormatId::hif8_rank);
}

kernel::EncodePath parse_encoder(const std::string& name) {
  for (auto p : {kernel::EncodePath::automatic, kernel::EncodePath::scalar, kernel::EncodePath::lut,
                 kernel::EncodePath::math, kernel::EncodePath::vperm})
    if (kernel::encode_path_name(p) == name) return p;
  throw Error("unknown encoder '" + name + "' (known: auto, scalar, lut, math, vperm)");
}

// Reads `in` in chunks of whole elements and hands each to `convert`, which writes its output: memory
// stays bounded (a few MiB) whatever the stream's length, as a Unix filter's should. A trailing
// partial element is an error once the stream ends; the output file is then not committed.
void stream_elements(const std::string& in, size_t width, const std::function<void(const uint8_t*, size_t)>& convert) {
  std::FILE* f = in == "-" ? stdin : std::fopen(in.c_str(), "rb");
  if (!f) throw Error("cannot open '" + in + "': " + std::strerror(errno));
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f == stdin ? nullptr : f, &std::fclose);
  constexpr size_t kChunkElements = size_t{1} << 22;
  std::vector<uint8_t> buffer(kChunkElements * width);
  size_t filled = 0, total = 0;
  for (;;) {
    const size_t got = std::fread(buffer.data() + filled, 1, buffer.size() - filled, f);
    filled += got;
    total += got;
    if (std::ferror(f)) throw Error("cannot read '" + in + "': " + std::strerror(errno));
    const size_t whole = filled - filled % width;
    if (whole && (filled == buffer.size() || got == 0)) {
      convert(buffer.data(), whole / width);
      std::memmove(buffer.data(), buffer.data() + whole, filled - whole);
      filled -= whole;
    }
    if (got == 0) break;
  }
  if (filled)
    throw Error("input is " + std::to_string(total) + " bytes, not a multiple of the element size (" + std::to_string(width) + ")");
}

void run_encode(const CodecArgs& a) {
  const FormatInfo& format = resolve_format(a);
  const kernel::DType dtype = kernel::parse_dtype(a.dtype);
  const kernel::EncodePath path = parse_encoder(a.encoder);
  io::OutputFile out(a.out);
  std::vector<uint8_t> codes;
  stream_elements(a.in, kernel::dtype_size(dtype), [&](const uint8_t* input, size_t n) {
    codes.resize(n);
    kernel::encode(format, input, dtype, codes.data(), n, {a.saturate ? Overflow::saturate : Overflow::plain, a.threads, path});
    out.write(codes.data(), n);
  });
  out.commit();
}

void run_decode(const CodecArgs& a) {
  const FormatInfo& format = resolve_format(a);
  const kernel::DType dtype = kernel::parse_dtype(a.dtype);
  io::OutputFile out(a.out);
  std::vector<uint8_t> output;
  stream_elements(a.in, 1, [&](const uint8_t* codes, size_t n) {
    output.resize(n * kernel::dtype_size(dtype));
    kernel::decode(format, codes, output.data(), dtype, n, a.threads);
    out.write(output.data(), output.size());
  });
  out.commit();
}

void add_common(CLI::App* cmd, CodecArgs& a) {
  cmd->add_option("--format", a.format, "Format name (see `hifp8 formats`)")->required();
  cmd->add_option("--layout", a.layout, "HiF8 byte layout: ascend (interchange default) or rank");
  cmd->add_option("--threads", a.threads, "Worker threads (0: all cores)");
  cmd->add_option("--in", a.in, "Input file ('-': stdin)");
  cmd->add_option("--out", a.out, "Output file ('-': stdout); written to a temporary name, then renamed");
}

}  // namespace

void add_codec_commands(CLI::App& app) {
  auto enc = std::make_shared<CodecArgs>();
  CLI::App* encode = app.add_subcommand("encode", "Encode a raw little-endian f32/bf16/f16 stream to 8-bit codes");
  add_common(encode, *enc);
  encode->add_option("--input-dtype", enc->dtype, "Element type of the input: f32, bf16, f16");
  encode->add_flag("--saturate", enc->saturate, "Clamp overflow to +-max finite instead of Inf/NaN");
  encode->add_option("--encoder", enc->encoder, "Implementation: auto, scalar, lut, math, vperm (for comparisons)");
  encode->callback([enc] { run_encode(*enc); });

  auto dec = std::make_shared<CodecArgs>();
  CLI::App* decode = app.add_subcommand("decode", "Decode 8-bit codes to a raw little-endian f32/bf16/f16 stream");
  add_common(decode, *dec);
  decode->add_option("--out-dtype", dec->dtype, "Element type of the output: f32, bf16, f16 (all exact)");
  decode->callback([dec] { run_decode(*dec); });
}

}  // namespace hifp8::cli
