# Writes a SPIR-V binary (SPV, little-endian words) as the comma-separated uint32 list that
# shaders.cc #includes (INC), as glslc -mfmt=num does for the .comp shaders. Run as
#   cmake -DSPV=in.spv -DINC=out.spv.inc -P spv_to_inc.cmake
file(READ "${SPV}" hex HEX)
string(LENGTH "${hex}" chars)
math(EXPR rest "${chars} % 8")
if(chars EQUAL 0 OR NOT rest EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a whole number of 32-bit words (${chars} hex digits)")
endif()
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1,\n" words "${hex}")
file(WRITE "${INC}" "${words}")
