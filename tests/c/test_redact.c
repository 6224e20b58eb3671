/*
 * Redaction (src/core/redact.c): which names are sensitive, in any case,
 * with the built-in and the added words; values after a sensitive name,
 * URL credentials and secret values replaced in free text.
 */
#include <chaostracing/redact.h>

#include <stdbool.h>

#include "test.h"

static bool sensitive(const struct ctr_redactor *r, const char *name)
{
    return ctr_redact_is_sensitive(r, name, strlen(name));
}

static void test_builtin_words_any_case(void)
{
    static const char *const yes[] = {
        "token",
        "X-Auth-Token",
        "PASSWORD",
        "db_passwd",
        "pwd",
        "client_secret",
        "Authorization",
        "proxy-authorization",
        "AWS_CREDENTIALS",
        "Set-Cookie",
        "x-amz-signature",
        "private_key",
        "ApiKey",
        "SESSIONID",
        "key",
        "api_key",
        "X-API-KEY",
        "sso.key",
        "auth",
        "Proxy-Auth",
        "basic.AUTH",
        "tokens",
        "my_secret_value",
        "PrIvAtE",
    };
    static const char *const no[] = {
        "name", "status", "monkey", "keyboard", "author", "authority", "keys",
        "tok",  "pass",   "sessio", "url",      "",       "oauthx",    "turkey-x",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!sensitive(NULL, yes[i]))
            TEST_FAIL_AT("\"%s\" should be sensitive", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (sensitive(NULL, no[i]))
            TEST_FAIL_AT("\"%s\" should not be sensitive", no[i]);
}

static void test_long_and_odd_names(void)
{
    char name[200];
    memset(name, 'a', sizeof name);
    memcpy(name + 120, "token", 5);
    /* Up to 128 bytes are looked at, longer names are not. */
    ASSERT(ctr_redact_is_sensitive(NULL, name, 128));
    ASSERT(!ctr_redact_is_sensitive(NULL, name, 129));
    ASSERT(!ctr_redact_is_sensitive(NULL, name, 0));
    /* A NUL before "key" is no separator; bytes above 0x7F are kept as they are. */
    ASSERT(!ctr_redact_is_sensitive(NULL, "x\0key", 5));
    ASSERT(sensitive(NULL, "\xc3\xa9-key"));
    ASSERT(sensitive(NULL, "\xc3\x89TOKEN"));
}

static void test_added_words(void)
{
    struct ctr_redactor *r;
    ASSERT_EQ(ctr_redactor_new(&r), 0);
    ASSERT(!sensitive(r, "X-Tenant-Pin"));
    ASSERT_EQ(ctr_redactor_add_word(r, "Tenant-PIN", 10), 0);
    ASSERT_EQ(ctr_redactor_add_word(r, "otp", 3), 0);
    ASSERT_EQ(ctr_redactor_add_word(r, "", 0), 0); /* ignored */
    ASSERT(sensitive(r, "x-tenant-pin"));
    ASSERT(sensitive(r, "X-TENANT-PIN-2"));
    ASSERT(sensitive(r, "MyOTPValue"));
    ASSERT(!sensitive(r, "tenant"));
    ASSERT(!sensitive(NULL, "MyOTPValue")); /* only that redactor's */
    ctr_redactor_free(r);
}

static void check_redact(const struct ctr_redactor *r, const char *in, const char *want)
{
    struct ctr_buf out = {0};
    bool changed = ctr_redact(r, in, strlen(in), &out);
    if (!want) {
        if (changed)
            TEST_FAIL_AT("\"%s\" changed into \"%.*s\"", in, (int)out.len, (const char *)out.data);
    } else {
        ctr_buf_putc(&out, '\0');
        if (!changed || strcmp((const char *)out.data, want) != 0)
            TEST_FAIL_AT("\"%s\" gave \"%s\", expected \"%s\"", in,
                         changed ? (const char *)out.data : "(unchanged)", want);
    }
    ctr_buf_free(&out);
}

static void test_redact_text(void)
{
    check_redact(NULL, "{\"status\": 200, \"body\": \"ok\"}", NULL);
    check_redact(NULL, "{\"Token\": \"abc\", \"n\": 1}", "{\"Token\": \"REDACTED\", \"n\": 1}");
    check_redact(NULL, "{\"X-API-KEY\": 12345}", "{\"X-API-KEY\": REDACTED}");
    check_redact(NULL, "Authorization: Bearer abc.def", "Authorization: REDACTED");
    check_redact(NULL, "GET https://u:p@h/x?Password=hunter2&q=1",
                 "GET https://REDACTED:REDACTED@h/x?Password=REDACTED&q=1");
    check_redact(NULL, "monkey=banana author: me", NULL);
    struct ctr_redactor *r;
    ASSERT_EQ(ctr_redactor_new(&r), 0);
    ASSERT_EQ(ctr_redactor_add_secret(r, "s3cr3t-value", 12), 0);
    ASSERT_EQ(ctr_redactor_add_word(r, "PIN", 3), 0);
    check_redact(r, "echo s3cr3t-value; pin=1234", "echo REDACTED; pin=REDACTED");
    ctr_redactor_free(r);
}

TEST_MAIN(TEST_CASE(test_builtin_words_any_case), TEST_CASE(test_long_and_odd_names),
          TEST_CASE(test_added_words), TEST_CASE(test_redact_text))
