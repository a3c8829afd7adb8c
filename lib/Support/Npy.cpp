//===- Npy.cpp - Reading and writing numpy .npy files ---------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The format (numpy/lib/format.py): the magic string "\x93NUMPY", a major
// and a minor version byte, the header length (2 bytes little-endian in
// version 1.0, 4 bytes in 2.0 and 3.0), then the header: a Python dict
// literal with the keys 'descr', 'fortran_order' and 'shape', padded with
// spaces and ended by '\n' so that the data starts at a multiple of 64.
//
//===----------------------------------------------------------------------===//

#include "attnc/Support/Npy.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace attnc {
namespace npy {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
/// Integers held in a double are exact up to 2^53.
constexpr double kMaxExactInt = 9007199254740992.0;

uint64_t readLE(const unsigned char *p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i)
    value = (value << 8) | p[i];
  return value;
}

void writeLE(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>(value & 0xff));
    value >>= 8;
  }
}

/// A parser of the header dict: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`.
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : text(text) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape, std::string &error) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!consume('{'))
      return fail("expected '{' at the start", error);
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return fail("expected a quoted key", error);
      skipSpace();
      if (!consume(':'))
        return fail("expected ':' after '" + key + "'", error);
      skipSpace();
      if (key == "descr") {
        if (!parseString(descr))
          return fail("'descr' is not a string (structured dtypes are not "
                      "supported)",
                      error);
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (consumeWord("True"))
          fortranOrder = true;
        else if (consumeWord("False"))
          fortranOrder = false;
        else
          return fail("'fortran_order' is not True or False", error);
        haveOrder = true;
      } else if (key == "shape") {
        if (!parseShape(shape))
          return fail("'shape' is not a tuple of non-negative integers", error);
        haveShape = true;
      } else {
        return fail("unexpected key '" + key + "'", error);
      }
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return fail("expected ',' or '}'", error);
    }
    skipSpace();
    if (pos != text.size())
      return fail("unexpected text after '}'", error);
    if (!haveDescr || !haveOrder || !haveShape)
      return fail(std::string("missing key '") +
                      (!haveDescr   ? "descr"
                       : !haveOrder ? "fortran_order"
                                    : "shape") +
                      "'",
                  error);
    return true;
  }

private:
  bool fail(const std::string &message, std::string &error) {
    error = "bad header: " + message;
    return false;
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool consume(char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool consumeWord(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0)
      return false;
    pos += n;
    return true;
  }
  bool parseString(std::string &out) {
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == std::string::npos)
      return false;
    out = text.substr(pos, end - pos);
    pos = end + 1;
    return true;
  }
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!consume('('))
      return false;
    while (true) {
      skipSpace();
      if (consume(')'))
        return true;
      if (pos >= text.size() || text[pos] < '0' || text[pos] > '9')
        return false;
      int64_t value = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (value > (std::numeric_limits<int64_t>::max() - 9) / 10)
          return false;
        value = value * 10 + (text[pos++] - '0');
      }
      // Python 2 wrote `3L`.
      consume('L');
      shape.push_back(value);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      return consume(')');
    }
  }

  const std::string &text;
  size_t pos = 0;
};

bool parseDescr(const std::string &descr, DType &dtype, std::string &error) {
  static const struct {
    const char *descr;
    DType dtype;
  } kKnown[] = {{"<f4", DType::F32},
                {"<f8", DType::F64},
                {"<i4", DType::I32},
                {"<i8", DType::I64},
                {"|b1", DType::Bool}};
  for (const auto &known : kKnown) {
    if (descr == known.descr) {
      dtype = known.dtype;
      return true;
    }
  }
  error = "unsupported dtype '" + descr +
          "' (supported: '<f4', '<f8', '<i4', '<i8', '|b1')";
  return false;
}

/// The number of elements of `shape`, or -1 on overflow.
int64_t countElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return -1;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      return -1;
    count *= dim;
  }
  return count;
}

} // namespace

const char *getDescr(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "<f4";
  case DType::F64:
    return "<f8";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  case DType::Bool:
    return "|b1";
  }
  return "?";
}

int getItemSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::Bool:
    return 1;
  }
  return 1;
}

int64_t Array::numElements() const { return countElements(shape); }

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

bool unpackElements(const char *bytes, int64_t count, DType dtype,
                    std::vector<double> &values, std::string &error) {
  values.resize(count);
  int itemSize = getItemSize(dtype);
  const auto *data = reinterpret_cast<const unsigned char *>(bytes);
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char *item = data + i * itemSize;
    double value = 0;
    switch (dtype) {
    case DType::F32: {
      uint32_t bits = static_cast<uint32_t>(readLE(item, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      value = f;
      break;
    }
    case DType::F64: {
      uint64_t bits = readLE(item, 8);
      std::memcpy(&value, &bits, 8);
      break;
    }
    case DType::I32:
      value = static_cast<int32_t>(static_cast<uint32_t>(readLE(item, 4)));
      break;
    case DType::I64: {
      auto v = static_cast<int64_t>(readLE(item, 8));
      value = static_cast<double>(v);
      if (std::fabs(value) > kMaxExactInt) {
        error = "element " + std::to_string(i) + " (" + std::to_string(v) +
                ") is beyond +-2^53";
        return false;
      }
      break;
    }
    case DType::Bool:
      if (*item > 1) {
        error = "element " + std::to_string(i) + " of a '|b1' array is " +
                std::to_string(*item) + ", not 0 or 1";
        return false;
      }
      value = *item;
      break;
    }
    values[i] = value;
  }
  return true;
}

bool packElements(const std::vector<double> &values, DType dtype,
                  std::string &bytes, std::string &error) {
  int64_t count = static_cast<int64_t>(values.size());
  for (int64_t i = 0; i < count; ++i) {
    double value = values[i];
    switch (dtype) {
    case DType::F32: {
      float f = static_cast<float>(value);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      writeLE(bytes, bits, 4);
      break;
    }
    case DType::F64: {
      uint64_t bits;
      std::memcpy(&bits, &value, 8);
      writeLE(bytes, bits, 8);
      break;
    }
    case DType::I32:
    case DType::I64: {
      bool is32 = dtype == DType::I32;
      double limit = is32 ? 2147483648.0 : 9223372036854775808.0;
      double truncated = std::trunc(value);
      if (!(truncated >= -limit && truncated < limit)) {
        error = "element " + std::to_string(i) + " (" + std::to_string(value) +
                ") does not fit '" + getDescr(dtype) + "'";
        return false;
      }
      auto v = static_cast<int64_t>(truncated);
      writeLE(bytes, static_cast<uint64_t>(v), is32 ? 4 : 8);
      break;
    }
    case DType::Bool:
      bytes.push_back(value != 0 ? 1 : 0);
      break;
    }
  }
  return true;
}

bool decode(const std::string &bytes, Array &result, std::string &error) {
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < kMagicSize + 2 ||
      bytes.compare(0, kMagicSize, kMagic) != 0) {
    error = "not a .npy file (bad magic string)";
    return false;
  }
  int major = p[kMagicSize], minor = p[kMagicSize + 1];
  int lengthBytes;
  if (major == 1)
    lengthBytes = 2;
  else if (major == 2 || major == 3)
    lengthBytes = 4;
  else {
    error = "unsupported .npy version " + std::to_string(major) + "." +
            std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)";
    return false;
  }
  size_t prefix = kMagicSize + 2 + lengthBytes;
  if (bytes.size() < prefix) {
    error = "truncated header";
    return false;
  }
  uint64_t headerLength = readLE(p + kMagicSize + 2, lengthBytes);
  if (bytes.size() - prefix < headerLength) {
    error = "truncated header: " + std::to_string(bytes.size() - prefix) +
            " bytes, expected " + std::to_string(headerLength);
    return false;
  }
  std::string header = bytes.substr(prefix, headerLength);

  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  if (!HeaderParser(header).parse(descr, fortranOrder, shape, error))
    return false;
  DType dtype;
  if (!parseDescr(descr, dtype, error))
    return false;
  if (fortranOrder) {
    error = "Fortran-order arrays are not supported (save a C-order array, "
            "e.g. numpy.ascontiguousarray)";
    return false;
  }
  int64_t count = countElements(shape);
  int itemSize = getItemSize(dtype);
  if (count < 0 || count > std::numeric_limits<int64_t>::max() / itemSize) {
    error = "shape " + shapeToString(shape) + " is too large";
    return false;
  }
  uint64_t dataOffset = prefix + headerLength;
  uint64_t have = bytes.size() - dataOffset;
  uint64_t want = static_cast<uint64_t>(count) * itemSize;
  if (have != want) {
    error = std::string(have < want ? "truncated data" : "trailing data") +
            ": " + std::to_string(have) + " bytes for shape " +
            shapeToString(shape) + " of '" + descr + "', expected " +
            std::to_string(want);
    return false;
  }

  result.dtype = dtype;
  result.shape = std::move(shape);
  result.data.resize(count);
  return unpackElements(bytes.data() + dataOffset, count, dtype, result.data,
                        error);
}

bool encode(const Array &array, std::string &bytes, std::string &error) {
  int64_t count = countElements(array.shape);
  if (count < 0 || static_cast<uint64_t>(count) != array.data.size()) {
    error = "shape " + shapeToString(array.shape) + " does not match the " +
            std::to_string(array.data.size()) + " elements";
    return false;
  }

  std::string header = "{'descr': '";
  header += getDescr(array.dtype);
  header += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i)
      header += ", ";
    header += std::to_string(array.shape[i]);
  }
  if (array.shape.size() == 1)
    header += ",";
  header += "), }";

  // Pad with spaces so that the data starts at a multiple of 64, then '\n'.
  int lengthBytes = 2;
  size_t total = kMagicSize + 2 + lengthBytes + header.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  if (padded - kMagicSize - 2 - lengthBytes > 0xffff) {
    lengthBytes = 4;
    total = kMagicSize + 2 + lengthBytes + header.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  header.append(padded - total, ' ');
  header += '\n';

  bytes.clear();
  bytes.reserve(padded + count * getItemSize(array.dtype));
  bytes.append(kMagic, kMagicSize);
  bytes.push_back(static_cast<char>(lengthBytes == 2 ? 1 : 2));
  bytes.push_back(0);
  writeLE(bytes, header.size(), lengthBytes);
  bytes += header;

  return packElements(array.data, array.dtype, bytes, error);
}

bool readFile(const std::string &path, Array &result, std::string &error) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = "'" + path + "': cannot read: " + std::strerror(errno);
    return false;
  }
  std::string bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    bytes.append(buffer, n);
  bool readError = std::ferror(file) != 0;
  int savedErrno = errno;
  std::fclose(file);
  if (readError) {
    error = "'" + path + "': cannot read: " + std::strerror(savedErrno);
    return false;
  }
  if (!decode(bytes, result, error)) {
    error = "'" + path + "': " + error;
    return false;
  }
  return true;
}

} // namespace npy
} // namespace attnc
