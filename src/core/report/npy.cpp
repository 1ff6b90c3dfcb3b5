#include "report/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace mirada {

std::string encodeNpy(const cv::Mat& map) {
    if (map.dims != 2 || (map.type() != CV_32F && map.type() != CV_32S))
        throw Error("encodeNpy: expected a 2-D float32 or int32 map");
    const cv::Mat m = map.isContinuous() ? map : map.clone();
    std::string header = "{'descr': '" + std::string(m.type() == CV_32F ? "<f4" : "<i4") +
                         "', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                         std::to_string(m.cols) + "), }";
    // magic(6) + version(2) + header length(2) + header + padding + '\n', total multiple of 64.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string out = std::string("\x93NUMPY", 6);
    out += '\x01';
    out += '\x00';
    const uint16_t len = static_cast<uint16_t>(header.size());
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>(len >> 8);
    out += header;
    out.append(reinterpret_cast<const char*>(m.data), m.total() * m.elemSize());
    return out;
}

void writeNpyAtomic(const std::filesystem::path& file, const cv::Mat& map) { writeFileAtomic(file, encodeNpy(map)); }

cv::Mat readNpy(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot open '" + file.string() + "'");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 10 || bytes.compare(0, 6, std::string("\x93NUMPY", 6)) != 0)
        throw Error("'" + file.string() + "' is not a .npy file");
    const size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    if (bytes.size() < 10 + hlen) throw Error("'" + file.string() + "' is truncated");
    const std::string header = bytes.substr(10, hlen);
    std::smatch m;
    static const std::regex re(R"('descr':\s*'(<f4|<i4)'.*'fortran_order':\s*False.*'shape':\s*\((\d+),\s*(\d+)\))");
    if (!std::regex_search(header, m, re))
        throw Error("'" + file.string() + "': only 2-D little-endian float32/int32 C-order arrays are supported");
    const int rows = std::stoi(m[2].str()), cols = std::stoi(m[3].str());
    const int type = m[1].str() == "<f4" ? CV_32F : CV_32S;
    const size_t need = size_t(rows) * cols * 4;
    if (bytes.size() < 10 + hlen + need) throw Error("'" + file.string() + "' is truncated");
    cv::Mat out(rows, cols, type);
    std::memcpy(out.data, bytes.data() + 10 + hlen, need);
    return out;
}

}  // namespace mirada
