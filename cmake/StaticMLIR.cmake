# Exported MLIR targets name `LLVM` (libLLVM.so) in their link interface even when the static
# MLIR archives are used. Replace it with the static LLVM components MLIR's core needs, so that
# no artifact of ours depends on an LLVM/MLIR shared library at run time.
llvm_map_components_to_libnames(TLE_STATIC_LLVM_LIBS Support Demangle Remarks BitstreamReader)
get_property(_tle_mlir_libs GLOBAL PROPERTY MLIR_ALL_LIBS)
foreach(_lib IN LISTS _tle_mlir_libs)
  if(TARGET ${_lib})
    get_target_property(_iface ${_lib} INTERFACE_LINK_LIBRARIES)
    if(_iface)
      list(TRANSFORM _iface REPLACE "^LLVM$" "${TLE_STATIC_LLVM_LIBS}")
      set_target_properties(${_lib} PROPERTIES INTERFACE_LINK_LIBRARIES "${_iface}")
    endif()
  endif()
endforeach()

# Link flags for shared objects that load next to another MLIR copy: keep every symbol of the
# static archives local (GCC's STB_GNU_UNIQUE TypeID statics would otherwise merge across copies).
set(TLE_ISOLATE_LINK_FLAGS "-Wl,--exclude-libs,ALL" "-Wl,--no-undefined" "-Wl,-Bsymbolic")
