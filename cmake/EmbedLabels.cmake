# Turns a text file of class names (one a line) into a C++ array.
file(STRINGS ${IN} lines ENCODING UTF-8)
set(body "")
foreach(line IN LISTS lines)
  string(REPLACE "\\" "\\\\" line "${line}")
  string(REPLACE "\"" "\\\"" line "${line}")
  string(APPEND body "    \"${line}\",\n")
endforeach()
file(WRITE ${OUT} "// Generated from resources/imagenet_classes.txt\n#include <vector>\n#include <string>\nnamespace mirada {\nconst std::vector<std::string>& imagenetLabels() {\n  static const std::vector<std::string> labels = {\n${body}  };\n  return labels;\n}\n}  // namespace mirada\n")
