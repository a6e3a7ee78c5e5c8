// One counter for everything observed in this process (client events and the client's own frames),
// so that "before"/"after" comparisons do not depend on millisecond timestamps.
let counter = 0;
export const nextOrder = () => ++counter;
