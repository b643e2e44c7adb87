// gl.hpp — OpenGL 3.3 core functions for the app's own drawing. Mesa's libGL exports every entry
// point, so the prototypes from glext.h link directly (Dear ImGui's backend loads its own).
#pragma once

#ifndef GL_GLEXT_PROTOTYPES
#define GL_GLEXT_PROTOTYPES 1
#endif
#define GLFW_INCLUDE_GLEXT
#include <GLFW/glfw3.h>
