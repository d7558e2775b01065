/**
 * Jest runs the specs beside the components through ts-jest (CommonJS). The specs
 * import only plain modules and React components, never JupyterLab's ES-module
 * packages, so nothing in node_modules needs transforming.
 */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts?(x)'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }]
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json']
};
