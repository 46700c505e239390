# Turns a weights file into a C++ source that defines harl::shipped_weights() (the cost model),
# with -DKIND=avx512 harl::shipped_avx512_weights() (the cost model for AVX-512 targets) or,
# with -DKIND=policy, harl::shipped_policy() (the RL policy).
# cmake -DINPUT=file.weights -DOUTPUT=Shipped.cpp [-DKIND=avx512|policy] -P EmbedWeights.cmake
if (KIND STREQUAL "avx512")
  set(header ModelWeights.h)
  set(type ModelWeights)
  set(fn shipped_avx512_weights)
  set(parser parse_weights)
  set(what "shipped AVX-512 weights")
elseif (KIND STREQUAL "policy")
  set(header PolicyNet.h)
  set(type PolicyWeights)
  set(fn shipped_policy)
  set(parser parse_policy)
  set(what "shipped policy")
else ()
  set(header ModelWeights.h)
  set(type ModelWeights)
  set(fn shipped_weights)
  set(parser parse_weights)
  set(what "shipped weights")
endif ()
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by EmbedWeights.cmake: do not edit.\n"
  "#include \"${header}\"\nnamespace harl {\nnamespace {\nconst char kBytes[] = {${bytes} 0};\n}\n"
  "${type} ${fn}() {\n"
  "    static const ${type} w = ${parser}(std::string(kBytes, sizeof(kBytes) - 1), \"${what} ${INPUT}\");\n"
  "    return w;\n}\n} // namespace harl\n")
