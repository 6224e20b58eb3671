/* chaostracing: the umbrella header of the C library. */
#ifndef CHAOSTRACING_H
#define CHAOSTRACING_H

#include "common.h"
#include "span.h"
#include "resource.h"
#include "encode.h"
#include "decode.h"
#include "render.h"
#include "exporter.h"
#include "processor.h"
#include "config.h"
#include "propagate.h"
#include "tracer.h"
#include "endpoint.h"
#include "settings.h"

#endif
