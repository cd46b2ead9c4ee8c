/** The widget module name the kernel side uses (`_model_module`). */
export const MODULE_NAME = 'ak-salesforce-nb';

/** The widget module version (kernel side: `_model_module_version = "^0.1.0"`). */
export const MODULE_VERSION = '0.1.0';
