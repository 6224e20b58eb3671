/*
 * What a JSON text is when it was expected to hold OTLP JSON lines: a
 * request after all (pretty-printed over several lines), a Chaos Toolkit
 * journal or experiment given by mistake, or something else. Only the top
 * level of the document is looked at.
 */
#include <chaostracing/decode.h>

#include "encode/json_read.h"

/* Whether object `o` has a member `key` of JSON type `type`. */
static bool has(const struct ctr__json_value *o, const char *key, enum ctr__json_type type)
{
    const struct ctr__json_value *v = ctr__json_get(o, key);
    return v && v->type == type;
}

static enum ctr_json_kind kind_of(const struct ctr__json_value *root)
{
    if (root->type != CTR__JSON_OBJECT)
        return CTR_JSON_OTHER;
    if (root->u.c.count == 0 || has(root, "resourceSpans", CTR__JSON_ARRAY))
        return CTR_JSON_REQUEST;
    if (has(root, "experiment", CTR__JSON_OBJECT) &&
        (has(root, "run", CTR__JSON_ARRAY) || has(root, "steady_states", CTR__JSON_OBJECT) ||
         ctr__json_get(root, "chaoslib-version")))
        return CTR_JSON_CTK_JOURNAL;
    if (has(root, "title", CTR__JSON_STRING) &&
        (has(root, "method", CTR__JSON_ARRAY) ||
         has(root, "steady-state-hypothesis", CTR__JSON_OBJECT)))
        return CTR_JSON_CTK_EXPERIMENT;
    return CTR_JSON_OTHER;
}

int ctr_json_kind(const char *text, size_t len, size_t max_tree_bytes, enum ctr_json_kind *kind)
{
    if (!kind || (!text && len))
        return CTR_EINVAL;
    struct ctr_arena tree = {0};
    tree.limit = max_tree_bytes ? max_tree_bytes : CTR_DECODE_TREE_LIMIT;
    struct ctr__json_value *root;
    struct ctr__json_error je;
    int rc = ctr__json_parse(&tree, text ? text : "", len, &root, &je);
    if (rc == 0)
        *kind = kind_of(root);
    else if (rc == CTR_EPARSE)
        *kind = CTR_JSON_NOT_JSON;
    else
        rc = tree.total > tree.limit / 2 ? CTR_ETOOBIG : CTR_ENOMEM;
    ctr_arena_free(&tree);
    return rc == CTR_EPARSE ? 0 : rc;
}
