{
  "targets": [
    {
      "target_name": "medpsim_native",
      "sources": [
        "native/binding/addon.cpp",
        "native/src/backends.cpp",
        "<!@(node -p \"require('./native/sources.json').sources.map(s => 'native/' + s).join(' ')\")"
      ],
      "include_dirs": [
        "native/include",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"]
    }
  ]
}
