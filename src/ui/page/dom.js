// @ts-check
/** The page's one DOM lookup: every element it asks for is in index.html. */

/** @param {string} id */
export const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
