# Turns a weights file into a C++ source that defines harl::shipped_weights().
# cmake -DINPUT=file.weights -DOUTPUT=ShippedWeights.cpp -P EmbedWeights.cmake
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by EmbedWeights.cmake: do not edit.\n"
  "#include \"ModelWeights.h\"\nnamespace harl {\nnamespace {\nconst char kBytes[] = {${bytes} 0};\n}\n"
  "ModelWeights shipped_weights() {\n"
  "    static const ModelWeights w = parse_weights(std::string(kBytes, sizeof(kBytes) - 1), \"shipped weights ${INPUT}\");\n"
  "    return w;\n}\n} // namespace harl\n")
