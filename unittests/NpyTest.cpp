//===- NpyTest.cpp - Reading and writing .npy files -----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Support/Npy.h"
#include "attnc/Support/Random.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <string>

using namespace attnc;
using namespace attnc::npy;

namespace {

Array makeArray(DType dtype, std::vector<int64_t> shape,
                std::vector<double> data) {
  Array array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  array.data = std::move(data);
  return array;
}

std::string encodeOrDie(const Array &array) {
  std::string bytes, error;
  EXPECT_TRUE(encode(array, bytes, error)) << error;
  return bytes;
}

/// A .npy file with a hand-written header (version 1.0), as numpy writes it.
std::string withHeader(const std::string &dict, const std::string &data) {
  std::string header = dict;
  size_t total = 10 + header.size() + 1;
  header.append((total + 63) / 64 * 64 - total, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  return bytes + header + data;
}

std::string decodeError(const std::string &bytes) {
  Array array;
  std::string error;
  EXPECT_FALSE(decode(bytes, array, error));
  return error;
}

TEST(NpyTest, RoundTripEveryDType) {
  const struct {
    DType dtype;
    std::vector<double> data;
  } cases[] = {
      {DType::F32, {0.5, -1.25, 3e38, -0.0, 1e-40, 7}},
      {DType::F64, {0.1, -1e300, 5e-324, 2.5, -3, 1.0 / 3}},
      {DType::I32, {0, -1, 2147483647, -2147483648.0, 42, 7}},
      {DType::I64, {0, -1, 9007199254740992.0, -9007199254740992.0, 5, 6}},
      {DType::Bool, {1, 0, 0, 1, 1, 0}},
  };
  for (const auto &c : cases) {
    Array in = makeArray(c.dtype, {2, 3}, c.data);
    std::string bytes = encodeOrDie(in);
    // The data starts at a multiple of 64, after a version 1.0 header.
    EXPECT_EQ(bytes[6], 1);
    size_t headerLength = static_cast<unsigned char>(bytes[8]) |
                          static_cast<unsigned char>(bytes[9]) << 8;
    EXPECT_EQ((10 + headerLength) % 64, 0u);
    EXPECT_EQ(bytes.size(), 10 + headerLength + 6 * getItemSize(c.dtype));

    Array out;
    std::string error;
    ASSERT_TRUE(decode(bytes, out, error)) << error;
    EXPECT_EQ(out.dtype, c.dtype);
    EXPECT_EQ(out.shape, in.shape);
    for (size_t i = 0; i < c.data.size(); ++i) {
      double want = c.dtype == DType::F32
                        ? static_cast<double>(static_cast<float>(c.data[i]))
                        : c.data[i];
      EXPECT_EQ(out.data[i], want) << getDescr(c.dtype) << " element " << i;
    }
  }
}

TEST(NpyTest, HeaderShapes) {
  // Scalars are `()`, vectors `(3,)`.
  std::string scalar = encodeOrDie(makeArray(DType::F64, {}, {2.5}));
  EXPECT_NE(scalar.find("'shape': (), }"), std::string::npos);
  std::string vector = encodeOrDie(makeArray(DType::I32, {3}, {1, 2, 3}));
  EXPECT_NE(vector.find("'shape': (3,), }"), std::string::npos);
  std::string empty = encodeOrDie(makeArray(DType::F32, {0, 4}, {}));
  Array out;
  std::string error;
  ASSERT_TRUE(decode(empty, out, error)) << error;
  EXPECT_EQ(out.shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(out.data.empty());
  ASSERT_TRUE(decode(scalar, out, error)) << error;
  EXPECT_TRUE(out.shape.empty());
  EXPECT_EQ(out.data, std::vector<double>{2.5});
}

TEST(NpyTest, NumpyWrittenHeaders) {
  // As numpy 1.x and 2.x write them, with other spacing and key orders.
  std::string data("\x01\x00\x00\x00\x02\x00\x00\x00", 8);
  Array out;
  std::string error;
  ASSERT_TRUE(decode(
      withHeader("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                 data),
      out, error))
      << error;
  EXPECT_EQ(out.data, (std::vector<double>{1, 2}));
  ASSERT_TRUE(decode(
      withHeader("{\"shape\":(1,2),\"fortran_order\":False,\"descr\":\"<i4\"}",
                 data),
      out, error))
      << error;
  EXPECT_EQ(out.shape, (std::vector<int64_t>{1, 2}));
}

TEST(NpyTest, BadMagic) {
  EXPECT_EQ(decodeError("PK\x03\x04 not numpy at all"),
            "not a .npy file (bad magic string)");
  EXPECT_EQ(decodeError(""), "not a .npy file (bad magic string)");
  std::string bytes = encodeOrDie(makeArray(DType::F64, {1}, {1}));
  bytes[6] = 4;
  EXPECT_EQ(decodeError(bytes),
            "unsupported .npy version 4.0 (supported: 1.0, 2.0, 3.0)");
}

TEST(NpyTest, Truncated) {
  std::string bytes =
      encodeOrDie(makeArray(DType::F64, {2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(decodeError(bytes.substr(0, bytes.size() - 8)),
            "truncated data: 40 bytes for shape [2, 3] of '<f8', expected 48");
  EXPECT_EQ(decodeError(bytes + "x"),
            "trailing data: 49 bytes for shape [2, 3] of '<f8', expected 48");
  EXPECT_EQ(decodeError(bytes.substr(0, 30)).rfind("truncated header", 0), 0u);
  EXPECT_EQ(decodeError(bytes.substr(0, 9)), "truncated header");
}

TEST(NpyTest, FortranOrder) {
  std::string error = decodeError(
      withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }",
                 std::string(8, '\0')));
  EXPECT_EQ(error.rfind("Fortran-order arrays are not supported", 0), 0u)
      << error;
}

TEST(NpyTest, UnsupportedDTypes) {
  for (const char *descr : {"<f2", ">f8", "<u4", "|u1", "<c16", "|O"}) {
    std::string error = decodeError(
        withHeader(std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': (1,), }",
                   std::string(8, '\0')));
    EXPECT_EQ(error, std::string("unsupported dtype '") + descr +
                         "' (supported: '<f4', '<f8', '<i4', '<i8', '|b1')");
  }
  EXPECT_EQ(decodeError(withHeader("{'descr': [('a', '<f4')], "
                                   "'fortran_order': False, 'shape': (1,), }",
                                   std::string(4, '\0'))),
            "bad header: 'descr' is not a string (structured dtypes are not "
            "supported)");
}

TEST(NpyTest, BadHeaders) {
  EXPECT_EQ(decodeError(withHeader("{'descr': '<f8', 'shape': (1,), }",
                                   std::string(8, '\0'))),
            "bad header: missing key 'fortran_order'");
  EXPECT_EQ(
      decodeError(withHeader(
          "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", "")),
      "bad header: 'shape' is not a tuple of non-negative integers");
  EXPECT_EQ(decodeError(withHeader("not a dict", "")),
            "bad header: expected '{' at the start");
  EXPECT_EQ(decodeError(withHeader("{'descr': '|b1', 'fortran_order': False, "
                                   "'shape': (1,), }",
                                   "\x02")),
            "element 0 of a '|b1' array is 2, not 0 or 1");
}

TEST(NpyTest, BigHeader) {
  // A shape of 30000 ones needs a header over 65535 bytes: version 2.0,
  // with a 4-byte length.
  std::vector<int64_t> shape(30000, 1);
  std::string bytes = encodeOrDie(makeArray(DType::I64, shape, {-7}));
  EXPECT_EQ(bytes[6], 2);
  size_t headerLength = 0;
  for (int i = 3; i >= 0; --i)
    headerLength = headerLength << 8 | static_cast<unsigned char>(bytes[8 + i]);
  EXPECT_GT(headerLength, 65535u);
  EXPECT_EQ((12 + headerLength) % 64, 0u);
  Array out;
  std::string error;
  ASSERT_TRUE(decode(bytes, out, error)) << error;
  EXPECT_EQ(out.shape, shape);
  EXPECT_EQ(out.data, std::vector<double>{-7});
  // Version 3.0 (a UTF-8 header) reads the same.
  bytes[6] = 3;
  ASSERT_TRUE(decode(bytes, out, error)) << error;
}

TEST(NpyTest, EncodeErrors) {
  std::string bytes, error;
  EXPECT_FALSE(encode(makeArray(DType::F64, {2}, {1}), bytes, error));
  EXPECT_EQ(error, "shape [2] does not match the 1 elements");
  EXPECT_FALSE(encode(makeArray(DType::I32, {1}, {3e9}), bytes, error));
  EXPECT_FALSE(encode(makeArray(DType::I64, {1}, {NAN}), bytes, error));
}

TEST(NpyTest, ReadFile) {
  Array out;
  std::string error;
  EXPECT_FALSE(readFile("/nonexistent/dir/x.npy", out, error));
  EXPECT_EQ(error, "'/nonexistent/dir/x.npy': cannot read: No such file or "
                   "directory");
  std::string path = ::testing::TempDir() + "npytest.npy";
  std::string bytes = encodeOrDie(makeArray(DType::F32, {3}, {1, 2, 3}));
  std::FILE *file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
  ASSERT_TRUE(readFile(path, out, error)) << error;
  EXPECT_EQ(out.data, (std::vector<double>{1, 2, 3}));
  file = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, 20, file);
  std::fclose(file);
  EXPECT_FALSE(readFile(path, out, error));
  EXPECT_EQ(error.rfind("'" + path + "': truncated header", 0), 0u) << error;
  std::remove(path.c_str());
}

TEST(RandomTest, SplitMix64IsPortable) {
  // The reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.next(), 0x06c45d188009454fULL);
  SplitMix64 gen(1);
  for (int i = 0; i < 1000; ++i) {
    double u = gen.uniformOpen();
    EXPECT_GT(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_LT(gen.below(16), 16u);
    EXPECT_TRUE(std::isfinite(gen.normal()));
  }
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

} // namespace
