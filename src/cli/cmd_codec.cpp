// hifp8 encode / decode: raw little-endian streams, stdin/stdout by default, like a Unix filter.
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

void run_encode(const CodecArgs& a) {
  const FormatInfo& format = resolve_format(a);
  const kernel::DType dtype = kernel::parse_dtype(a.dtype);
  const kernel::EncodePath path = parse_encoder(a.encoder);
  const std::vector<uint8_t> input = io::read_all(a.in);
  const size_t width = kernel::dtype_size(dtype);
  if (input.size() % width != 0)
    throw Error("input is " + std::to_string(input.size()) + " bytes, not a multiple of the " +
                std::string(kernel::dtype_name(dtype)) + " element size (" + std::to_string(width) + ")");
  const size_t n = input.size() / width;
  std::vector<uint8_t> codes(n);
  kernel::encode(format, input.data(), dtype, codes.data(), n,
                 {a.saturate ? Overflow::saturate : Overflow::plain, a.threads, path});
  io::write_all(a.out, codes.data(), codes.size());
}

void run_decode(const CodecArgs& a) {
  const FormatInfo& format = resolve_format(a);
  const kernel::DType dtype = kernel::parse_dtype(a.dtype);
  const std::vector<uint8_t> codes = io::read_all(a.in);
  std::vector<uint8_t> output(codes.size() * kernel::dtype_size(dtype));
  kernel::decode(format, codes.data(), output.data(), dtype, codes.size(), a.threads);
  io::write_all(a.out, output.data(), output.size());
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
