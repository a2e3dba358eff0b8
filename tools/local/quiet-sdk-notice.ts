/**
 * Imported first by the local commands (`npm run dev`, `demo`, `bench`). On Node 20 the AWS SDK prints a
 * NodeVersionSupportWarning when it creates its first client, which lands in the middle of their output.
 * This sets the SDK's own switch for that notice (an explicit value from the caller wins). Node 22 is the
 * recommended runtime; nothing else is silenced. Child processes (serverless-offline) inherit it.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
