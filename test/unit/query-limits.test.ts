import 'reflect-metadata';
import { parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { buildMedpsimSchema } from '../../src/schema/build';
import { assertComplexity, depthLimitRule } from '../../src/schema/limits';

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildMedpsimSchema();
});

function depthErrors(query: string, max: number) {
  return validate(schema, parse(query), [...specifiedRules, depthLimitRule(max)]).map((error) => error.extensions);
}

describe('depth limit', () => {
  const deep = `{ datasets { images { edges { node { dataset { images { edges { node { id } } } } } } } } }`;

  it('rejects a query deeper than the limit with QUERY_TOO_DEEP', () => {
    expect(depthErrors(deep, 8)).toEqual([{ code: 'QUERY_TOO_DEEP', depth: 9, maxDepth: 8 }]);
  });

  it('accepts it at the limit, counts through fragments, ignores introspection', () => {
    expect(depthErrors(deep, 9)).toEqual([]);
    const viaFragment = `{ datasets { ...D } } fragment D on Dataset { images { edges { node { id } } } }`;
    expect(depthErrors(viaFragment, 3)).toEqual([{ code: 'QUERY_TOO_DEEP', depth: 5, maxDepth: 3 }]);
    expect(depthErrors(`{ __schema { types { fields { type { ofType { name } } } } } }`, 2)).toEqual([]);
  });
});

describe('complexity limit', () => {
  it('charges list fields their page size times their children', () => {
    const query = parse(`query ($n: Int!) { dataset(id: "x") { images(first: $n) { edges { node { id width height } } } } }`);
    expect(() => assertComplexity(schema, query, { n: 10 }, undefined, 200)).not.toThrow();
    expect(() => assertComplexity(schema, query, { n: 500 }, undefined, 200)).toThrow(/complexity \d+ exceeds the limit of 200/);
  });
});
